/*
 * http.h: a small, capped HTTP/1.1 request parser and response writer.
 *
 * libevent 2.1.12's evhttp cannot hand a connection over to another
 * protocol after a request (there is no way to take the bufferevent of an
 * evhttp_connection for a WebSocket upgrade), so the devserver reads its few
 * requests itself.  It parses one request per connection: the head is capped
 * (HTTP_MAX_HEAD), header count is capped, bodies need Content-Length and
 * are capped too; chunked bodies are refused.  Target and query string are
 * split with libevent's evhttp_uri and query helpers.
 */
#ifndef DEVSERVER_HTTP_H
#define DEVSERVER_HTTP_H

#include <stddef.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#define HTTP_MAX_HEAD 8192
#define HTTP_MAX_HEADERS 32
#define HTTP_MAX_BODY (1024 * 1024)

struct http_header {
	char *name;
	char *value;
};

struct http_request {
	char method[16];
	char *path;		/* decoded path, without the query */
	struct evkeyvalq query; /* decoded query parameters */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	char *body; /* NUL-terminated, body_len bytes */
	size_t body_len;
	size_t head_len; /* bytes of the head, 0 until parsed */
	int status;	 /* on a parse error: the status to answer */
};

/* Zero a request before its first http_request_parse. */
void http_request_init(struct http_request *);

/* Release what a request holds; it can be initialised again. */
void http_request_clear(struct http_request *);

/*
 * Parse from in: 1 when the whole request (head and body) has been removed
 * from in, 0 if more bytes are needed, -1 on a malformed or oversized
 * request (req->status is the status code to answer with).
 */
int http_request_parse(struct http_request *, struct evbuffer *in,
		       size_t max_body);

/* The value of header name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *, const char *name);

/* The value of query parameter name, or NULL. */
const char *http_request_query(const struct http_request *, const char *name);

/* Whether a comma-separated header value contains token (case-insensitive). */
int http_header_has_token(const char *value, const char *token);

/* The reason phrase of a status code. */
const char *http_reason(int status);

/* Append a complete response with Connection: close to out. */
void http_response(struct evbuffer *out, int status, const char *ctype,
		   const char *body, size_t len);

/* Append a JSON response: body is the compact text of a JSON document. */
void http_response_json(struct evbuffer *out, int status, const char *json);

#endif
