/*
 * http.c: one HTTP/1.1 request per connection, parsed with caps.
 *
 * The head is found with evbuffer_search for CRLFCRLF; nothing is copied or
 * parsed until the whole head is present, and a head longer than
 * HTTP_MAX_HEAD is refused with 431 before that.  Header lines are split in
 * place in a private copy; obsolete line folding is refused.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "devserver/http.h"

/* Initialise an empty request. */
void
http_request_init(struct http_request *req)
{
	memset(req, 0, sizeof *req);
	TAILQ_INIT(&req->query);
}

/* Free the parts of a request. */
void
http_request_clear(struct http_request *req)
{
	for (size_t i = 0; i < req->nheaders; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	evhttp_clear_headers(&req->query);
	free(req->path);
	free(req->body);
	http_request_init(req);
}

/* Trim spaces and tabs at both ends of s in place. */
static char *
http_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* Split target into path and query with evhttp_uri. */
static int
http_parse_target(struct http_request *req, const char *target)
{
	struct evhttp_uri *uri = NULL;
	const char *p, *q;
	int r = -1;

	if (target[0] != '/')
		goto out;
	if ((uri = evhttp_uri_parse(target)) == NULL)
		goto out;
	p = evhttp_uri_get_path(uri);
	req->path =
	    evhttp_uridecode(p != NULL && *p != '\0' ? p : "/", 0, NULL);
	if (req->path == NULL)
		goto out;
	q = evhttp_uri_get_query(uri);
	if (q != NULL && evhttp_parse_query_str(q, &req->query) != 0)
		goto out;
	r = 0;
out:
	if (uri != NULL)
		evhttp_uri_free(uri);
	return r;
}

/* Parse "METHOD TARGET HTTP/1.x". */
static int
http_parse_request_line(struct http_request *req, char *line)
{
	char *method, *target, *version, *save = NULL;

	method = strtok_r(line, " ", &save);
	target = strtok_r(NULL, " ", &save);
	version = strtok_r(NULL, " ", &save);
	if (method == NULL || target == NULL || version == NULL ||
	    strtok_r(NULL, " ", &save) != NULL)
		return -1;
	if (strlen(method) >= sizeof req->method)
		return -1;
	if (strcmp(version, "HTTP/1.1") != 0 &&
	    strcmp(version, "HTTP/1.0") != 0)
		return -1;
	strcpy(req->method, method);
	return http_parse_target(req, target);
}

/* Parse one "Name: value" line into the next header slot. */
static int
http_parse_header_line(struct http_request *req, char *line)
{
	char *colon = strchr(line, ':');
	struct http_header *h;

	if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t')
		return -1;
	if (req->nheaders == HTTP_MAX_HEADERS) {
		req->status = 431;
		return -1;
	}
	*colon = '\0';
	for (char *c = line; *c != '\0'; c++)
		if (!isgraph((unsigned char)*c))
			return -1;
	h = &req->headers[req->nheaders];
	h->name = strdup(line);
	h->value = strdup(http_trim(colon + 1));
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		req->status = 500;
		return -1;
	}
	req->nheaders++;
	return 0;
}

/* Parse a head (request line and headers, CRLF separated, NUL-terminated). */
static int
http_parse_head(struct http_request *req, char *head)
{
	char *line, *next;
	int first = 1;

	for (line = head; line != NULL && *line != '\0'; line = next) {
		next = strstr(line, "\r\n");
		if (next != NULL) {
			*next = '\0';
			next += 2;
		}
		if (memchr(line, '\n', strlen(line)) != NULL ||
		    memchr(line, '\r', strlen(line)) != NULL)
			return -1;
		if (first) {
			if (http_parse_request_line(req, line) != 0)
				return -1;
			first = 0;
		} else if (http_parse_header_line(req, line) != 0)
			return -1;
	}
	return first ? -1 : 0;
}

/* Read the Content-Length of a parsed head into *len. */
static int
http_body_length(struct http_request *req, size_t max_body, size_t *len)
{
	const char *cl = http_request_header(req, "Content-Length");
	const char *te = http_request_header(req, "Transfer-Encoding");
	char *end;
	unsigned long long n;

	*len = 0;
	if (te != NULL) {
		req->status = 501;
		return -1;
	}
	if (cl == NULL)
		return 0;
	if (!isdigit((unsigned char)cl[0]))
		return -1;
	n = strtoull(cl, &end, 10);
	if (*end != '\0')
		return -1;
	if (n > max_body) {
		req->status = 413;
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/* Parse the head once it is complete in in. */
static int
http_take_head(struct http_request *req, struct evbuffer *in)
{
	struct evbuffer_ptr pos;
	char *head = NULL;
	size_t n;
	int r = -1;

	pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (pos.pos < 0) {
		if (evbuffer_get_length(in) > HTTP_MAX_HEAD) {
			req->status = 431;
			return -1;
		}
		return 0;
	}
	n = (size_t)pos.pos;
	if (n + 4 > HTTP_MAX_HEAD) {
		req->status = 431;
		return -1;
	}
	if ((head = malloc(n + 1)) == NULL) {
		req->status = 500;
		return -1;
	}
	evbuffer_remove(in, head, n);
	evbuffer_drain(in, 4);
	head[n] = '\0';
	if (memchr(head, '\0', n) != NULL || http_parse_head(req, head) != 0)
		goto out;
	req->head_len = n + 4;
	r = 1;
out:
	free(head);
	return r;
}

/* Parse a request from in. */
int
http_request_parse(struct http_request *req, struct evbuffer *in,
		   size_t max_body)
{
	size_t len;
	int r;

	req->status = 400;
	if (req->head_len == 0) {
		if ((r = http_take_head(req, in)) != 1)
			return r;
	}
	if (http_body_length(req, max_body, &len) != 0)
		return -1;
	if (evbuffer_get_length(in) < len)
		return 0;
	if ((req->body = malloc(len + 1)) == NULL) {
		req->status = 500;
		return -1;
	}
	evbuffer_remove(in, req->body, len);
	req->body[len] = '\0';
	req->body_len = len;
	req->status = 0;
	return 1;
}

/* Look up a header. */
const char *
http_request_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/* Look up a query parameter. */
const char *
http_request_query(const struct http_request *req, const char *name)
{
	return evhttp_find_header(&req->query, name);
}

/* Search a comma-separated list for token. */
int
http_header_has_token(const char *value, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = value;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncasecmp(p, token, tlen) == 0) {
			const char *e = p + tlen;

			while (*e == ' ' || *e == '\t')
				e++;
			if (*e == ',' || *e == '\0')
				return 1;
		}
		p = strchr(p, ',');
	}
	return 0;
}

/* Reason phrases for the statuses the devserver uses. */
const char *
http_reason(int status)
{
	switch (status) {
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 426:
		return "Upgrade Required";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* Write a whole response. */
void
http_response(struct evbuffer *out, int status, const char *ctype,
	      const char *body, size_t len)
{
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\n"
			    "Content-Type: %s\r\nContent-Length: %zu\r\n"
			    "Connection: close\r\n\r\n",
			    status, http_reason(status), ctype, len);
	evbuffer_add(out, body, len);
}

/* Write a JSON response. */
void
http_response_json(struct evbuffer *out, int status, const char *json)
{
	http_response(out, status, "application/json", json, strlen(json));
}
