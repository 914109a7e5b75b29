/*
 * server_front: the certificates of the HTTPS front (https_certs), read
 * at start and again on a reload when certbot has replaced the files, and
 * which one serves a name. Every certificate is checked at load, so a
 * broken file stops a start or leaves a reload's running set in place,
 * never a visitor's handshake.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "server.h"
#include "sys.h"

int
srv_front_certs_load(const struct cfg_server *cfg, struct srv_front_certs *out)
{
	char err[512];
	size_t i;

	memset(out, 0, sizeof(*out));
	if (cfg->nhttps_certs == 0)
		return 0;
	out->ctx = calloc(cfg->nhttps_certs, sizeof(*out->ctx));
	out->files = calloc(cfg->nhttps_certs, sizeof(*out->files));
	if (out->ctx == NULL || out->files == NULL) {
		log_warn("https_certs");
		srv_front_certs_free(out);
		return -1;
	}
	for (i = 0; i < cfg->nhttps_certs; i++) {
		const struct cfg_cert *c = &cfg->https_certs[i];
		int64_t until;

		/* Identities first: a file replaced meanwhile is read again. */
		(void)srv_tls_files_get(c->cert, c->key, &out->files[i]);
		out->ctx[i] = tls_front_ctx(c->cert, c->key, err, sizeof(err));
		if (out->ctx[i] == NULL) {
			log_error("https_certs: %s", err);
			srv_front_certs_free(out);
			return -1;
		}
		out->n = i + 1;
		if (tls_ctx_expiry(out->ctx[i], &until) == 0 &&
		    until < (int64_t)time(NULL))
			log_warnx("https_certs: %s has expired: visitors' "
			    "browsers and webhook senders will refuse it",
			    c->cert);
	}
	return 0;
}

void
srv_front_certs_free(struct srv_front_certs *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		tls_ctx_free(c->ctx[i]);
	free(c->ctx);
	free(c->files);
	memset(c, 0, sizeof(*c));
}

int
srv_front_certs_same(const struct srv_front_certs *c,
    const struct cfg_server *cfg)
{
	struct srv_tls_files now;
	size_t i;

	if (c->n != cfg->nhttps_certs)
		return 0;
	for (i = 0; i < c->n; i++) {
		if (srv_tls_files_get(cfg->https_certs[i].cert,
		    cfg->https_certs[i].key, &now) == -1 ||
		    memcmp(&now, &c->files[i], sizeof(now)) != 0)
			return 0;
	}
	return 1;
}

struct tls_ctx *
srv_front_file_ctx(struct srv *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->certs.n; i++)
		if (tls_ctx_names(s->certs.ctx[i], name))
			return s->certs.ctx[i];
	return NULL;
}

struct tls_ctx *
srv_front_ctx(struct srv *s, const char *name)
{
	struct tls_ctx *x = srv_front_file_ctx(s, name);

	return x != NULL ? x : srv_acme_ctx(s, name);
}

int
srv_front_https(struct srv *s, const char *name)
{
	struct srv_session *ss;
	struct srv_user *u;
	char why[8];
	int i;

	if (s->https.h.fd == -1)
		return 0;
	if (srv_front_ctx(s, name) != NULL)
		return 1;
	/* No certificate here: only a service that holds its own. */
	u = srv_route_host(s, name, &ss, why, sizeof(why));
	return u != NULL && ss != NULL &&
	    (i = srv_session_service(ss, name)) > 0 &&
	    (ss->svc_flags[i - 1] & PROTO_SERVICE_PASSTHROUGH) != 0;
}

void
srv_front_alert(int fd, uint8_t description)
{
	/* An alert record: TLS 1.0 in the record layer, as hellos use. */
	uint8_t rec[7] = { 0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0 };

	rec[6] = description;
	(void)send(fd, rec, sizeof(rec), SYS_NOSIGNAL | MSG_DONTWAIT);
}
