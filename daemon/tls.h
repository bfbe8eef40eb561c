/*
 * tls.h: the TLS client context shared by the upstream WebSocket and the
 * HTTP client.  Peer verification is always on: the system trust store,
 * plus an optional PEM file of extra CAs (a self-hosted server's private
 * CA).  TLS 1.2 is the minimum.
 */
#ifndef DAEMON_TLS_H
#define DAEMON_TLS_H

#include <openssl/ssl.h>

struct bufferevent;
struct tls_ctx;

/*
 * A client context trusting the system store, plus the certificates in the
 * PEM file ca_file when it is not NULL.  NULL with a message in *err
 * (caller frees) if the store or the file cannot be loaded.
 */
struct tls_ctx *tls_ctx_create(const char *ca_file, char **err);
void tls_ctx_free(struct tls_ctx *);

/*
 * A new SSL in client mode that will verify that the peer's certificate
 * names host (a DNS name, or an IPv4/IPv6 literal without brackets).  A DNS
 * name is also sent as SNI.  NULL with a message in *err on failure.
 */
SSL *tls_ssl_new(struct tls_ctx *, const char *host, char **err);

/*
 * The first OpenSSL library error queued on an OpenSSL bufferevent, or 0.
 * (libevent queues SSL_get_error codes there too; those are skipped.)
 * Drains the bufferevent's error queue.
 */
unsigned long tls_bufferevent_error(struct bufferevent *);

/*
 * Why a TLS handshake failed, for a log line or a closed reason (caller
 * frees): the certificate verification result when it failed, else the
 * OpenSSL error ssl_err (from tls_bufferevent_error; 0 if none),
 * else sys_err (an errno value; 0 if none).
 */
char *tls_describe_failure(SSL *ssl, unsigned long ssl_err, int sys_err);

#endif
