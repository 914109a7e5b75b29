/*
 * acme.h: tunnel-acme, the server's ACME (RFC 8555) helper. The server
 * runs one per certificate order, so that no HTTP request, JSON document
 * or signature ever waits in its event loop; the two speak in lines over
 * the helper's stdin and stdout (acme_main.c says how).
 *
 *	acme_key.c	keys, base64url, the JWK and its thumbprint, JWS
 *			signatures, the CSR, the stored files
 *	acme_http.c	HTTPS requests through libcurl, with the nonce and
 *			the headers ACME needs
 *	acme_order.c	the order itself: account, order, challenge,
 *			finalize, certificate
 *	acme_main.c	the job from the server, the lines back to it
 */
#ifndef ACME_H
#define ACME_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#define ACME_URL_MAX	1024
#define ACME_ERR_MAX	512
#define ACME_BODY_MAX	(256 * 1024)	/* a certificate chain fits */
#define ACME_TOKEN_MAX	127		/* the server keeps no longer */

/* How a failure should be retried (the server's backoff differs). */
enum acme_fail {
	ACME_OK = 0,
	ACME_TRANSIENT,		/* network, 5xx, timeouts: soon again */
	ACME_REFUSED		/* the CA said no: much later */
};

/* What the order needs to know (from the server's job lines). */
struct acme_job {
	char	 directory[ACME_URL_MAX];
	char	 ca_file[ACME_URL_MAX];		/* "" = the system's */
	char	 email[256];			/* "" = no contact */
	char	 account_key[ACME_URL_MAX];	/* made if missing */
	char	 name[256];			/* the one DNS name */
	char	 out[ACME_URL_MAX];		/* key + chain, 0600 */
	char	 challenge[16];			/* "http-01", "tls-alpn-01" */
};

/*
 * The callbacks the order uses to speak to the server: a log line, and
 * a challenge to publish (its type, token and key authorization).
 * publish returns 0 once the server answers it, -1 if it will not.
 */
struct acme_io {
	void	(*log)(const char *level, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
	int	(*publish)(const char *type, const char *token,
		    const char *keyauth);
};

/* acme_key.c */

/*
 * base64url without padding (RFC 8555 §6.1) of n bytes into out (room
 * for 4 * n / 3 + 4). Return: out.
 */
char	*acme_b64u(const void *p, size_t n, char *out);
/*
 * Loads the account key from path, or makes a P-256 key there (0600,
 * never replacing a file made meanwhile). Return: the key, or NULL with
 * err set.
 */
EVP_PKEY *acme_account_key(const char *path, char *err, size_t errlen);
/* A new P-256 key for a certificate. Return: NULL on failure. */
EVP_PKEY *acme_cert_key(void);
/*
 * The key's public JWK (RFC 7517) with its members in the order RFC 7638
 * hashes them, and its thumbprint in base64url. Return: 0, or -1.
 */
int	acme_jwk(EVP_PKEY *key, json_t **jwk, char *thumb, size_t thumblen);
/*
 * A flattened JWS (RFC 7515 §7.2.2) of payload (NULL for POST-as-GET's
 * empty one) under protected, signed ES256 with key. Return: the JSON
 * text (free()), or NULL.
 */
char	*acme_jws(EVP_PKEY *key, json_t *protected, json_t *payload);
/*
 * A DER CSR for name alone (in subjectAltName; in the subject's CN too
 * when it fits CN's 64 characters), signed by key, base64url into a new
 * string (free()). Return: NULL on failure.
 */
char	*acme_csr(EVP_PKEY *key, const char *name);
/*
 * Checks that chain (PEM) starts with a certificate for name whose key
 * is key, then writes key and chain to path through a 0600 temporary
 * file and a rename. Return: 0, or -1 with err set.
 */
int	acme_store(const char *path, EVP_PKEY *key, const char *chain,
	    size_t len, const char *name, char *err, size_t errlen);

/* acme_http.c */

struct acme_reply {
	long	 status;			/* 0: no answer at all */
	char	*body;				/* NUL-ended, or NULL */
	size_t	 len;
	char	 location[ACME_URL_MAX];
	char	 nonce[256];
	char	 content_type[128];
	unsigned int retry_after;		/* seconds, 0 if none */
};

/* Sets libcurl up once. Return: 0, or -1. */
int	acme_http_init(const char *ca_file);
/*
 * GET url (body NULL) or POST body as application/jose+json. The reply's
 * body is capped at ACME_BODY_MAX. Return: 0 when an HTTP answer came
 * (any status), -1 with err set when none did.
 */
int	acme_http(const char *url, const char *body, struct acme_reply *r,
	    char *err, size_t errlen);
void	acme_reply_free(struct acme_reply *r);

/* acme_order.c */

/*
 * Runs one order for job->name to the end. Return: ACME_OK with the
 * certificate stored at job->out, or how it failed, err saying why and
 * *retry_after the seconds the CA asked to wait (0: it did not say).
 */
enum acme_fail acme_order(const struct acme_job *job, const struct acme_io *io,
	    unsigned int *retry_after, char *err, size_t errlen);

#endif /* ACME_H */
