/*
 * tls.c: the TLS client context and per-connection SSL objects.
 *
 * Verification cannot be turned off: SSL_VERIFY_PEER against the system
 * store (SSL_CTX_set_default_verify_paths, which honours SSL_CERT_FILE and
 * SSL_CERT_DIR) and an optional extra CA file, and the peer must be named
 * by the host we connect to: SSL_set1_host for DNS names (partial
 * wildcards refused), X509_VERIFY_PARAM_set1_ip_asc for IP literals.  SNI
 * is sent for DNS names only, as RFC 6066 forbids literal addresses there.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "daemon/tls.h"
#include "daemon/xmalloc.h"

struct tls_ctx {
	SSL_CTX *ssl_ctx;
};

/* Set *err to what, followed by the oldest queued OpenSSL error. */
static void
tls_set_err(char **err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e == 0) {
		*err = xstrdup(what);
		return;
	}
	ERR_error_string_n(e, buf, sizeof buf);
	xasprintf(err, "%s: %s", what, buf);
	ERR_clear_error();
}

/* Load the trust anchors into ctx: 0, or -1 with *err set. */
static int
tls_load_trust(SSL_CTX *ctx, const char *ca_file, char **err)
{
	char *what;

	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_set_err(err, "cannot load the system trust store");
		return -1;
	}
	if (ca_file == NULL)
		return 0;
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		xasprintf(&what, "cannot load CA file %s", ca_file);
		tls_set_err(err, what);
		free(what);
		return -1;
	}
	return 0;
}

/* Create the client context. */
struct tls_ctx *
tls_ctx_create(const char *ca_file, char **err)
{
	struct tls_ctx *t = NULL;
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_set_err(err, "cannot create a TLS context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		tls_set_err(err, "cannot require TLS 1.2");
		goto out;
	}
	if (tls_load_trust(ctx, ca_file, err) != 0)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	t = xcalloc(1, sizeof *t);
	t->ssl_ctx = ctx;
	ctx = NULL;
out:
	SSL_CTX_free(ctx);
	return t;
}

/* Free the context (SSL objects made from it keep their own reference). */
void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ssl_ctx);
	free(t);
}

/* 1 if host is an IPv4 or IPv6 literal. */
static int
tls_host_is_ip(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* Make ssl check that the peer certificate names host; 0 or -1. */
static int
tls_set_peer_name(SSL *ssl, const char *host)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);

	if (tls_host_is_ip(host))
		return X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1 ? 0 : -1;
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

/* A client SSL for host with SNI and name verification. */
SSL *
tls_ssl_new(struct tls_ctx *t, const char *host, char **err)
{
	SSL *ssl;

	ERR_clear_error();
	if ((ssl = SSL_new(t->ssl_ctx)) == NULL) {
		tls_set_err(err, "cannot create a TLS connection");
		return NULL;
	}
	if (tls_set_peer_name(ssl, host) != 0) {
		tls_set_err(err, "cannot set the TLS peer name");
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* The first real OpenSSL error of an OpenSSL bufferevent. */
unsigned long
tls_bufferevent_error(struct bufferevent *bev)
{
	unsigned long e, first = 0;

	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (first == 0 && ERR_GET_LIB(e) != 0)
			first = e;
	return first;
}

/* Describe a failed handshake. */
char *
tls_describe_failure(SSL *ssl, unsigned long ssl_err, int sys_err)
{
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	char buf[256], *s;

	if (v != X509_V_OK) {
		xasprintf(&s, "TLS certificate verification failed: %s",
		    X509_verify_cert_error_string(v));
	} else if (ssl_err != 0) {
		ERR_error_string_n(ssl_err, buf, sizeof buf);
		xasprintf(&s, "TLS handshake failed: %s", buf);
	} else if (sys_err != 0) {
		xasprintf(&s, "TLS handshake failed: %s", strerror(sys_err));
	} else {
		s = xstrdup("TLS handshake failed: connection closed by peer");
	}
	return s;
}
