/*
 * acme_order: one certificate for one name, the RFC 8555 way (§7):
 * the directory, the account (its key makes it: a second newAccount with
 * the same key finds the same account), a new order, each authorization's
 * challenge (HTTP-01 on the server's http_port, or TLS-ALPN-01 on its
 * https_port) answered by the server, finalize with a
 * CSR for a fresh key, and the certificate chain. Every POST is signed
 * with a nonce from the last answer; a badNonce problem is retried with
 * the nonce it brought (§6.5). Polls honour Retry-After within a
 * deadline. The outcome is either a stored certificate or a failure that
 * says whether to retry soon (ACME_TRANSIENT) or much later (ACME_REFUSED).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "acme.h"

#define ORDER_POLL_SECS	90	/* for a challenge, and for issuance */
#define NONCE_TRIES	5

struct order {
	const struct acme_job	*job;
	const struct acme_io	*io;
	EVP_PKEY		*key;		/* the account's */
	json_t			*jwk;
	char			 thumb[48];
	char			 kid[ACME_URL_MAX];	/* the account's URL */
	char			 nonce[256];
	char			 new_nonce[ACME_URL_MAX];
	char			 new_account[ACME_URL_MAX];
	char			 new_order[ACME_URL_MAX];
	char			*err;
	size_t			 errlen;
	unsigned int		 retry_after;	/* a refusal's Retry-After */
};

static enum acme_fail
fail(struct order *o, enum acme_fail f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum acme_fail
fail(struct order *o, enum acme_fail f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(o->err, o->errlen, fmt, ap);
	va_end(ap);
	return f;
}

static int
is_problem(const struct acme_reply *r)
{
	return strncmp(r->content_type, "application/problem+json", 24) == 0;
}

/*
 * The failure an answer with status >= 400 stands for: a problem
 * document's type and detail, and whether it is worth trying soon again.
 */
static enum acme_fail
problem(struct order *o, const char *what, const struct acme_reply *r)
{
	json_t *doc = r->body == NULL ? NULL :
	    json_loadb(r->body, r->len, 0, NULL);
	const char *type = json_string_value(json_object_get(doc, "type"));
	const char *detail = json_string_value(json_object_get(doc, "detail"));
	enum acme_fail f;

	f = r->status >= 500 || r->status == 429 ? ACME_TRANSIENT :
	    ACME_REFUSED;
	if (type != NULL && strstr(type, "rateLimited") != NULL)
		f = ACME_REFUSED;
	/* Rate limits and outages say when to come back (§6.6). */
	o->retry_after = r->retry_after;
	(void)fail(o, f, "%s: HTTP %ld%s%s%s%s", what, r->status,
	    type != NULL ? " " : "", type != NULL ? type : "",
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	json_decref(doc);
	return f;
}

/* A fresh nonce from newNonce (§7.2), when no answer has left one. */
static enum acme_fail
get_nonce(struct order *o)
{
	struct acme_reply r;

	if (acme_http(o->new_nonce, NULL, &r, o->err, o->errlen) == -1)
		return ACME_TRANSIENT;
	acme_reply_free(&r);
	if (r.nonce[0] == '\0')
		return fail(o, ACME_TRANSIENT, "newNonce gave no nonce");
	memcpy(o->nonce, r.nonce, sizeof(o->nonce));
	return ACME_OK;
}

/*
 * POST payload (NULL: POST-as-GET) to url, signed with the account's kid
 * or, for newAccount, its JWK. On ACME_OK, r holds an answer below 400
 * (the caller frees it).
 */
static enum acme_fail
post(struct order *o, const char *url, json_t *payload, int use_jwk,
    const char *what, struct acme_reply *r)
{
	enum acme_fail f;
	json_t *ph;
	char *body;
	int tries;

	for (tries = 0; tries < NONCE_TRIES; tries++) {
		if (o->nonce[0] == '\0' && (f = get_nonce(o)) != ACME_OK)
			return f;
		ph = use_jwk ?
		    json_pack("{s:s, s:O, s:s, s:s}", "alg", "ES256", "jwk",
		    o->jwk, "nonce", o->nonce, "url", url) :
		    json_pack("{s:s, s:s, s:s, s:s}", "alg", "ES256", "kid",
		    o->kid, "nonce", o->nonce, "url", url);
		body = ph == NULL ? NULL : acme_jws(o->key, ph, payload);
		json_decref(ph);
		o->nonce[0] = '\0';	/* each nonce is good once */
		if (body == NULL)
			return fail(o, ACME_TRANSIENT, "%s: cannot sign", what);
		if (acme_http(url, body, r, o->err, o->errlen) == -1) {
			free(body);
			return ACME_TRANSIENT;
		}
		free(body);
		if (r->nonce[0] != '\0')
			memcpy(o->nonce, r->nonce, sizeof(o->nonce));
		if (r->status < 400)
			return ACME_OK;
		if (!(r->status == 400 && is_problem(r) && r->body != NULL &&
		    strstr(r->body, "urn:ietf:params:acme:error:badNonce") !=
		    NULL)) {
			f = problem(o, what, r);
			acme_reply_free(r);
			return f;
		}
		acme_reply_free(r);	/* badNonce: again, with its nonce */
	}
	return fail(o, ACME_TRANSIENT, "%s: the CA refused %d nonces in a row",
	    what, NONCE_TRIES);
}

/* r's body as a JSON object (the caller decrefs), or NULL. */
static json_t *
body_json(struct order *o, const char *what, const struct acme_reply *r)
{
	json_t *doc = r->body == NULL ? NULL :
	    json_loadb(r->body, r->len, 0, NULL);

	if (!json_is_object(doc)) {
		json_decref(doc);
		(void)fail(o, ACME_TRANSIENT, "%s: the answer is not a JSON "
		    "object", what);
		return NULL;
	}
	return doc;
}

/* Copies member k of doc, a string, into out. Return: 0, or -1. */
static int
str_member(json_t *doc, const char *k, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(doc, k));

	if (v == NULL || strlen(v) >= len)
		return -1;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

static enum acme_fail
directory(struct order *o)
{
	struct acme_reply r;
	json_t *doc;

	if (acme_http(o->job->directory, NULL, &r, o->err, o->errlen) == -1)
		return ACME_TRANSIENT;
	if (r.status != 200) {
		enum acme_fail f = problem(o, "directory", &r);

		acme_reply_free(&r);
		return f == ACME_REFUSED ? ACME_TRANSIENT : f;
	}
	doc = body_json(o, "directory", &r);
	acme_reply_free(&r);
	if (doc == NULL)
		return ACME_TRANSIENT;
	if (str_member(doc, "newNonce", o->new_nonce,
	    sizeof(o->new_nonce)) == -1 ||
	    str_member(doc, "newAccount", o->new_account,
	    sizeof(o->new_account)) == -1 ||
	    str_member(doc, "newOrder", o->new_order,
	    sizeof(o->new_order)) == -1) {
		json_decref(doc);
		return fail(o, ACME_REFUSED, "%s is not an ACME directory "
		    "(no newNonce, newAccount or newOrder)", o->job->directory);
	}
	json_decref(doc);
	return ACME_OK;
}

/* newAccount (§7.3): made, or found again for this key. */
static enum acme_fail
account(struct order *o)
{
	struct acme_reply r;
	enum acme_fail f;
	json_t *p;
	char mail[300];

	p = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	if (p != NULL && o->job->email[0] != '\0') {
		(void)snprintf(mail, sizeof(mail), "mailto:%s", o->job->email);
		(void)json_object_set_new(p, "contact",
		    json_pack("[s]", mail));
	}
	if (p == NULL)
		return fail(o, ACME_TRANSIENT, "out of memory");
	f = post(o, o->new_account, p, 1, "newAccount", &r);
	json_decref(p);
	if (f != ACME_OK)
		return f;
	acme_reply_free(&r);
	if (r.location[0] == '\0')
		return fail(o, ACME_TRANSIENT, "newAccount: no account URL");
	memcpy(o->kid, r.location, sizeof(o->kid));
	if (r.status == 201)
		o->io->log("info", "ACME account made at %s", o->kid);
	return ACME_OK;
}

/* Sleeps for a poll: Retry-After within [1, 10] s, 1 s without one. */
static void
poll_pause(const struct acme_reply *r)
{
	unsigned int s = r->retry_after;

	(void)sleep(s < 1 ? 1 : s > 10 ? 10 : s);
}

/*
 * POST-as-GET url until its status leaves "pending"/"processing" (or
 * stops being want_not), within ORDER_POLL_SECS. Return: ACME_OK with
 * *doc the last state (the caller decrefs).
 */
static enum acme_fail
poll_until(struct order *o, const char *url, const char *what,
    const char *const busy[], json_t **doc)
{
	time_t end = time(NULL) + ORDER_POLL_SECS;
	struct acme_reply r;
	enum acme_fail f;
	const char *st;
	int i, waiting;

	for (;;) {
		if ((f = post(o, url, NULL, 0, what, &r)) != ACME_OK)
			return f;
		if ((*doc = body_json(o, what, &r)) == NULL) {
			acme_reply_free(&r);
			return ACME_TRANSIENT;
		}
		st = json_string_value(json_object_get(*doc, "status"));
		waiting = 0;
		for (i = 0; st != NULL && busy[i] != NULL; i++)
			waiting |= strcmp(st, busy[i]) == 0;
		if (!waiting || time(NULL) >= end) {
			acme_reply_free(&r);
			if (waiting) {
				json_decref(*doc);
				return fail(o, ACME_TRANSIENT, "%s: still %s "
				    "after %d s", what, st, ORDER_POLL_SECS);
			}
			return ACME_OK;
		}
		json_decref(*doc);
		poll_pause(&r);
		acme_reply_free(&r);
	}
}

/* The error a failed challenge carries, for the log. */
static const char *
challenge_error(json_t *authz)
{
	json_t *chs = json_object_get(authz, "challenges"), *c, *e;
	size_t i;

	json_array_foreach(chs, i, c) {
		if ((e = json_object_get(c, "error")) != NULL &&
		    json_string_value(json_object_get(e, "detail")) != NULL)
			return json_string_value(json_object_get(e, "detail"));
	}
	return "no reason given";
}

/* One authorization (§7.5): its challenge of the job's type, answered. */
static enum acme_fail
authorize(struct order *o, const char *url)
{
	static const char *const busy[] = { "pending", NULL };
	char token[256], ch_url[ACME_URL_MAX], keyauth[320];
	json_t *authz, *chs, *c, *empty, *id;
	struct acme_reply r;
	enum acme_fail f;
	const char *st, *type;
	size_t i;

	if ((f = post(o, url, NULL, 0, "authorization", &r)) != ACME_OK)
		return f;
	authz = body_json(o, "authorization", &r);
	acme_reply_free(&r);
	if (authz == NULL)
		return ACME_TRANSIENT;
	/* An authorization for another name would publish its token. */
	id = json_object_get(authz, "identifier");
	if (!json_is_string(json_object_get(id, "value")) ||
	    strcasecmp(json_string_value(json_object_get(id, "value")),
	    o->job->name) != 0) {
		json_decref(authz);
		return fail(o, ACME_REFUSED, "the CA's authorization is not "
		    "for %s", o->job->name);
	}
	st = json_string_value(json_object_get(authz, "status"));
	if (st != NULL && strcmp(st, "valid") == 0) {
		json_decref(authz);	/* proved lately: nothing to do */
		return ACME_OK;
	}
	if (st == NULL || strcmp(st, "pending") != 0) {
		f = fail(o, ACME_REFUSED, "authorization for %s is %s",
		    o->job->name, st != NULL ? st : "without a status");
		json_decref(authz);
		return f;
	}
	token[0] = ch_url[0] = '\0';
	chs = json_object_get(authz, "challenges");
	json_array_foreach(chs, i, c) {
		type = json_string_value(json_object_get(c, "type"));
		if (type != NULL && strcmp(type, o->job->challenge) == 0 &&
		    str_member(c, "token", token, ACME_TOKEN_MAX + 1) == 0 &&
		    str_member(c, "url", ch_url, sizeof(ch_url)) == 0)
			break;
		token[0] = ch_url[0] = '\0';
	}
	json_decref(authz);
	if (token[0] == '\0')
		return fail(o, ACME_REFUSED, "the CA offers no %s "
		    "challenge for %s", o->job->challenge, o->job->name);
	/* §8.3: the token is base64url; anything else is not served. */
	if (strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") != strlen(token))
		return fail(o, ACME_REFUSED, "the CA's token is not base64url");
	(void)snprintf(keyauth, sizeof(keyauth), "%s.%s", token, o->thumb);
	if (o->io->publish(o->job->challenge, token, keyauth) == -1)
		return fail(o, ACME_REFUSED, "the server would not answer the "
		    "CA's %s challenge (a malformed token?)", o->job->challenge);
	/* §7.5.1: an empty object says "ready, check it". */
	empty = json_object();
	f = post(o, ch_url, empty, 0, "challenge", &r);
	json_decref(empty);
	if (f != ACME_OK)
		return f;
	acme_reply_free(&r);
	if ((f = poll_until(o, url, "authorization", busy, &authz)) !=
	    ACME_OK)
		return f;
	st = json_string_value(json_object_get(authz, "status"));
	if (st == NULL || strcmp(st, "valid") != 0) {
		f = fail(o, ACME_REFUSED, "the CA's %s check of %s failed "
		    "(it connects to port %s of the name's address, which must "
		    "reach %s): %s", o->job->challenge, o->job->name,
		    strcmp(o->job->challenge, "http-01") == 0 ? "80" : "443",
		    strcmp(o->job->challenge, "http-01") == 0 ? "http_port" :
		    "https_port", challenge_error(authz));
		json_decref(authz);
		return f;
	}
	json_decref(authz);
	return ACME_OK;
}

/* Finalize (§7.4) with csr, then fetch the chain into *pem. */
static enum acme_fail
issue(struct order *o, const char *order_url, json_t *order, const char *csr,
    struct acme_reply *pem)
{
	static const char *const busy[] = { "pending", "ready", "processing",
	    NULL };
	char fin[ACME_URL_MAX], cert[ACME_URL_MAX];
	struct acme_reply r;
	enum acme_fail f;
	json_t *p, *done;
	const char *st;

	if (str_member(order, "finalize", fin, sizeof(fin)) == -1)
		return fail(o, ACME_REFUSED, "the order has no finalize URL");
	p = json_pack("{s:s}", "csr", csr);
	if (p == NULL)
		return fail(o, ACME_TRANSIENT, "out of memory");
	f = post(o, fin, p, 0, "finalize", &r);
	json_decref(p);
	if (f != ACME_OK)
		return f;
	acme_reply_free(&r);
	if ((f = poll_until(o, order_url, "order", busy, &done)) != ACME_OK)
		return f;
	st = json_string_value(json_object_get(done, "status"));
	if (st == NULL || strcmp(st, "valid") != 0 ||
	    str_member(done, "certificate", cert, sizeof(cert)) == -1) {
		f = fail(o, ACME_REFUSED, "the order ended %s, with no "
		    "certificate", st != NULL ? st : "without a status");
		json_decref(done);
		return f;
	}
	json_decref(done);
	return post(o, cert, NULL, 0, "certificate", pem);
}

enum acme_fail
acme_order(const struct acme_job *job, const struct acme_io *io,
    unsigned int *retry_after, char *err, size_t errlen)
{
	struct order o = { .job = job, .io = io, .err = err, .errlen = errlen };
	struct acme_reply r, pem = { 0 };
	char order_url[ACME_URL_MAX], url[ACME_URL_MAX], *csr = NULL;
	json_t *p, *order = NULL, *authzs;
	EVP_PKEY *key;
	enum acme_fail f;
	size_t i;

	*retry_after = 0;
	/* The certificate's key and CSR first: nothing is proved in vain. */
	if ((key = acme_cert_key()) == NULL ||
	    (csr = acme_csr(key, job->name)) == NULL) {
		EVP_PKEY_free(key);
		(void)snprintf(err, errlen, "cannot make a key and CSR for %s",
		    job->name);
		return ACME_REFUSED;
	}
	/* A key the server cannot read is not fixed by trying again soon. */
	if ((o.key = acme_account_key(job->account_key, err, errlen)) ==
	    NULL) {
		EVP_PKEY_free(key);
		free(csr);
		return ACME_REFUSED;
	}
	if (acme_jwk(o.key, &o.jwk, o.thumb, sizeof(o.thumb)) == -1) {
		f = fail(&o, ACME_TRANSIENT, "cannot read the account key");
		goto done;
	}
	if ((f = directory(&o)) != ACME_OK || (f = account(&o)) != ACME_OK)
		goto done;
	p = json_pack("{s:[{s:s, s:s}]}", "identifiers", "type", "dns",
	    "value", job->name);
	if (p == NULL) {
		f = fail(&o, ACME_TRANSIENT, "out of memory");
		goto done;
	}
	f = post(&o, o.new_order, p, 0, "newOrder", &r);
	json_decref(p);
	if (f != ACME_OK)
		goto done;
	(void)snprintf(order_url, sizeof(order_url), "%s", r.location);
	order = body_json(&o, "newOrder", &r);
	acme_reply_free(&r);
	if (order == NULL) {
		f = ACME_TRANSIENT;
		goto done;
	}
	if (order_url[0] == '\0') {
		f = fail(&o, ACME_TRANSIENT, "newOrder: no order URL");
		goto done;
	}
	authzs = json_object_get(order, "authorizations");
	if (!json_is_array(authzs) || json_array_size(authzs) == 0) {
		f = fail(&o, ACME_REFUSED, "the order has no authorizations");
		goto done;
	}
	for (i = 0; i < json_array_size(authzs); i++) {
		const char *u = json_string_value(json_array_get(authzs, i));

		if (u == NULL || strlen(u) >= sizeof(url)) {
			f = fail(&o, ACME_REFUSED, "a bad authorization URL");
			goto done;
		}
		memcpy(url, u, strlen(u) + 1);
		if ((f = authorize(&o, url)) != ACME_OK)
			goto done;
	}
	if ((f = issue(&o, order_url, order, csr, &pem)) != ACME_OK)
		goto done;
	if (pem.body == NULL || acme_store(job->out, key, pem.body, pem.len,
	    job->name, err, errlen) == -1) {
		if (pem.body == NULL)
			(void)fail(&o, ACME_TRANSIENT, "the certificate "
			    "download was empty");
		f = ACME_TRANSIENT;
	}
done:
	*retry_after = f == ACME_OK ? 0 : o.retry_after;
	free(csr);
	acme_reply_free(&pem);
	json_decref(order);
	json_decref(o.jwk);
	EVP_PKEY_free(key);
	EVP_PKEY_free(o.key);
	return f;
}
