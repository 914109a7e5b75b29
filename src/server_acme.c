/*
 * server_acme: certificates from an ACME CA (acme:) for the host names
 * users may claim and https_certs does not cover. Theory of operation.
 *
 * The loop never speaks ACME itself: for each order it runs tunnel-acme
 * (acme_main.c), found beside this binary, and reads its lines without
 * waiting. One order runs at a time, which is all a CA's rate limits
 * allow anyway. The helper's one need from the loop is the challenge: it
 * names a token and its key authorization, and the front answers the
 * CA's check, either its GET for the token on http_port (HTTP-01,
 * srv_acme_answer) or its acme-tls/1 handshake for the name on
 * https_port (TLS-ALPN-01, srv_acme_alpn_ctx: a self-signed certificate
 * made for that one check); then the helper is told "ready".
 *
 * A name is ordered on first need: when a client claims it for a service
 * whose TLS ends here (a granted SERVICE without passthrough), never
 * merely because it is in the file, nor because a visitor asks (a
 * passthrough service may run an ACME client of its own), and never for a
 * name no user may claim. Certificates are kept under the state directory
 * (acme/<CA>/NAME.pem, 0600, key and chain) and loaded at start, so a
 * restart orders nothing. One whose last third of life has begun is
 * renewed (30 days before the end of Let's Encrypt's 90) once a client
 * has claimed its name since the start.
 *
 * Failures back off per name: 10 s doubling to an hour when the CA could
 * not be reached, 5 minutes doubling to a day when it refused (its
 * failed-validation limits are counted per hour). A reload (SIGHUP)
 * clears the backoff: it is how an operator says "fixed, try now".
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "server.h"
#include "sys.h"

#define ACME_TRANSIENT_FIRST	10		/* seconds */
#define ACME_TRANSIENT_MAX	3600
#define ACME_REFUSED_FIRST	300
#define ACME_REFUSED_MAX	86400
#define ACME_HELPER_DEADLINE	660		/* the helper's own is 600 */
#define ACME_RECHECK		3600		/* the timer's longest sleep */
#define ACME_MIN_RENEW		10		/* never renew sooner */
#define ACME_HELPER_LOGS	64		/* lines an order may log */

static void	acme_tick(struct loop *, struct timer *);
static void	helper_cb(struct loop *, struct handler *, uint32_t);

static struct srv_acme_name *
name_find(struct srv_acme *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->names[i].name, name) == 0)
			return &a->names[i];
	return NULL;
}

/* The stored certificate's file for e. Return: 0, or -1 if too long. */
static int
cert_path(const struct srv_acme *a, const char *name, char *out, size_t len)
{
	int r = snprintf(out, len, "%s/%s.pem", a->dir, name);

	return r < 0 || (size_t)r >= len ? -1 : 0;
}

/* The seconds since the epoch as a date for the log. */
static const char *
date_str(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/*
 * Loads e's stored certificate, if there is one, and sets when to renew
 * it. Return: 1 loaded, 0 none stored, -1 unusable (err says why).
 */
static int
cert_load(struct srv_acme *a, struct srv_acme_name *e, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	struct tls_ctx *x;
	struct stat st;
	char when[64];
	int64_t from, until, life, now = (int64_t)time(NULL), floor;

	if (cert_path(a, e->name, path, sizeof(path)) == -1) {
		(void)snprintf(err, errlen, "path too long");
		return -1;
	}
	if (stat(path, &st) == -1) {
		(void)snprintf(err, errlen, "%.200s: %s", path,
		    strerror(errno));
		return errno == ENOENT ? 0 : -1;
	}
	if ((x = tls_front_ctx(path, path, err, errlen)) == NULL)
		return -1;
	if (!tls_ctx_names(x, e->name) ||
	    tls_ctx_validity(x, &from, &until) == -1) {
		(void)snprintf(err, errlen, "%.200s is not a certificate for "
		    "%s", path, e->name);
		tls_ctx_free(x);
		return -1;
	}
	if (e->ctx != NULL)
		tls_ctx_free(e->ctx);
	e->ctx = x;
	e->not_after = until;
	life = until > from ? until - from : 0;
	/* The last third of its life, as certbot and Caddy renew. */
	e->renew_at = until - life / 3;
	/*
	 * But not within a third of its life of getting it (the file's
	 * time): a certificate that starts out in its last third (a clock
	 * far ahead, a CA's very short lives) would otherwise be ordered
	 * again and again, into the CA's duplicate-certificate limit. Once
	 * expired, it is renewed at once all the same.
	 */
	floor = ((int64_t)st.st_mtime < now ? (int64_t)st.st_mtime : now) +
	    life / 3;
	/* ... and at the latest with a tenth of its life left. */
	if (floor > until - life / 10)
		floor = until - life / 10;
	if (e->renew_at < floor && until > now) {
		log_warnx("acme: %s: the certificate is in the last third of "
		    "its life already; renewal waits until %s (is this "
		    "machine's clock right?)", e->name, date_str(floor, when,
		    sizeof(when)));
		e->renew_at = floor;
	}
	if (e->renew_at < now + ACME_MIN_RENEW && until > now + ACME_MIN_RENEW)
		e->renew_at = now + ACME_MIN_RENEW;
	return 1;
}


/*
 * The names ACME may serve under s's configuration: every user's hosts
 * that no https_certs entry covers. Entries of names still there keep
 * their certificate and state; the rest are freed.
 */
static int
names_build(struct srv *s)
{
	struct srv_acme *a = &s->acme;
	struct srv_acme_name *next, *old;
	char err[512], when[64];
	size_t i, j, k, n = 0, cap = 0;

	for (i = 0; i < s->nusers; i++)
		cap += s->users[i]->cfg->nhosts;
	next = cap == 0 ? NULL : calloc(cap, sizeof(*next));
	if (cap > 0 && next == NULL) {
		log_warn("acme");
		return -1;
	}
	for (i = 0; i < s->nusers; i++)
		for (j = 0; j < s->users[i]->cfg->nhosts; j++) {
			const char *h = s->users[i]->cfg->hosts[j];

			if (srv_front_file_ctx(s, h) != NULL ||
			    strlen(h) >= sizeof(next[n].name))
				continue;
			for (k = 0; k < n && strcmp(next[k].name, h) != 0; k++)
				;
			if (k < n)
				continue;
			if ((old = name_find(a, h)) != NULL) {
				next[n] = *old;
				old->ctx = NULL;	/* moved */
			} else
				(void)snprintf(next[n].name,
				    sizeof(next[n].name), "%s", h);
			/* A reload is the operator's "try again now". */
			next[n].retry_at = 0;
			next[n].fails = 0;
			n++;
		}
	for (i = 0; i < a->n; i++)
		if (a->names[i].ctx != NULL)
			tls_ctx_free(a->names[i].ctx);
	free(a->names);
	a->names = next;
	a->n = n;
	for (i = 0; i < n; i++) {
		if (next[i].ctx != NULL)
			continue;
		switch (cert_load(a, &next[i], err, sizeof(err))) {
		case 1:
			log_info("acme: %s: certificate loaded, valid until "
			    "%s", next[i].name, date_str(next[i].not_after,
			    when, sizeof(when)));
			break;
		case -1:
			/* Ordered again on first need. */
			log_warnx("acme: %s: stored certificate unusable: %s",
			    next[i].name, err);
			break;
		}
	}
	return 0;
}

/* tunnel-acme beside this binary, or in ../libexec/tunnel from it. */
static int
helper_find(char *out, size_t len)
{
	const char *link = sys_self_path();
	char self[PATH_MAX];
	const char *slash;
	int r;

	/* Linux names /proc/self/exe: the binary's own directory is wanted. */
	if (link == NULL || realpath(link, self) == NULL ||
	    (slash = strrchr(self, '/')) == NULL)
		return -1;
	r = snprintf(out, len, "%.*s/tunnel-acme", (int)(slash - self), self);
	if (r > 0 && (size_t)r < len && access(out, X_OK) == 0)
		return 0;
	r = snprintf(out, len, "%.*s/../libexec/tunnel/tunnel-acme",
	    (int)(slash - self), self);
	if (r > 0 && (size_t)r < len && access(out, X_OK) == 0)
		return 0;
	return -1;
}

/*
 * The directory of the configured CA's files, <state>/acme/<CA>: a CA
 * of its own (Let's Encrypt's staging, then its production) starts
 * afresh, never serving the other's certificates. <CA> is the directory
 * URL without its scheme, each character other than a letter, digit,
 * dot or hyphen made a hyphen. Return: 0, or -1 (logged).
 */
static int
ca_dir(struct srv *s, char *out, size_t len)
{
	const char *url = s->cfg->acme.directory + strlen("https://");
	char dir[PATH_MAX], ca[101];
	size_t i;
	int r;

	for (i = 0; url[i] != '\0' && i < sizeof(ca) - 1; i++)
		ca[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789.-", url[i]) != NULL ? url[i] : '-';
	ca[i] = '\0';
	if (srv_state_dir(s->cfg->path, "acme", dir, sizeof(dir)) == -1 ||
	    (r = snprintf(out, len, "%s/acme/%s", dir, ca)) < 0 ||
	    (size_t)r >= len - FRONT_MAX_NAME - 16) {
		log_error("acme: the state directory's path is too long");
		return -1;
	}
	if (strpbrk(out, "\n\r") != NULL) {
		log_error("acme: %s: a newline in the state directory's path",
		    out);
		return -1;
	}
	return 0;
}

/* Makes dir (mode 0700) if it is not there, for the service's user. */
static int
dir_make(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_error("acme: cannot make %s: %s", dir, strerror(errno));
		return -1;
	}
	/* A directory, not a link someone put there to point us elsewhere. */
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_error("acme: %s is not a directory", dir);
		return -1;
	}
	(void)srv_give_to_dir_owner(dir);
	return 0;
}

/*
 * Removes what a helper killed while writing left in dir: its temporary
 * files (NAME.pem.tmp-XXXXXX, account.key.tmp-XXXXXX) hold private keys.
 * No helper runs yet, so none of them is being written.
 */
static void
stale_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *d;
	struct stat st;
	const char *t;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		/* tunnel-acme's temporary names: NAME.tmp-XXXXXX. */
		if ((t = strstr(d->d_name, ".tmp-")) == NULL ||
		    strlen(t) != 11 || t == d->d_name ||
		    snprintf(path, sizeof(path), "%s/%s", dir, d->d_name) <= 0 ||
		    lstat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (unlink(path) == 0)
			log_info("acme: removed %s, left by an order that was "
			    "cut short", path);
	}
	(void)closedir(dp);
}

int
srv_acme_init(struct srv *s)
{
	struct srv_acme *a = &s->acme;
	char *slash;

	a->to = -1;
	loop_handler_init(&a->h, -1, helper_cb);
	loop_timer_init(&a->timer, acme_tick);
	/*
	 * Looked for once, at start, acme or not: a reload that turns acme
	 * on may come after a package upgrade replaced this binary, when
	 * /proc/self/exe no longer names a file.
	 */
	if (a->helper[0] == '\0' &&
	    helper_find(a->helper, sizeof(a->helper)) == -1)
		a->helper[0] = '\0';
	if (!s->cfg->acme_on)
		return 0;
	if (a->helper[0] == '\0') {
		log_error("acme: tunnel-acme is neither beside tunnel-server "
		    "nor in ../libexec/tunnel from it; install it (make "
		    "install does)");
		return -1;
	}
	if (ca_dir(s, a->dir, sizeof(a->dir)) == -1)
		return -1;
	/* <state>/acme, then <state>/acme/<CA>. */
	slash = strrchr(a->dir, '/');
	*slash = '\0';
	if (dir_make(a->dir) == -1)
		return -1;
	*slash = '/';
	if (dir_make(a->dir) == -1)
		return -1;
	stale_remove(a->dir);
	a->on = 1;
	if (names_build(s) == -1)
		return -1;
	log_info("acme: certificates for %zu name%s from %s, kept in %s",
	    a->n, a->n == 1 ? "" : "s", s->cfg->acme.directory, a->dir);
	loop_timer_set(s->loop, &a->timer, 0);
	return 0;
}

/* Ends the running helper, if any; its name's outcome is not judged. */
static void
helper_end(struct srv *s)
{
	struct srv_acme *a = &s->acme;

	if (a->h.fd != -1)
		loop_close(s->loop, &a->h);
	if (a->to != -1) {
		(void)close(a->to);
		a->to = -1;
	}
	if (a->pid > 0)
		(void)sys_helper_reap(a->pid, 1);
	a->pid = 0;
	a->len = 0;
	a->token[0] = a->keyauth[0] = '\0';
	if (a->alpn != NULL) {
		/* A handshake under way keeps it (refcounted). */
		tls_ctx_free(a->alpn);
		a->alpn = NULL;
	}
	a->cur[0] = '\0';
	a->result = 0;
	a->nlogs = 0;
}

void
srv_acme_free(struct srv *s)
{
	struct srv_acme *a = &s->acme;
	size_t i;

	if (!a->on)
		return;		/* never started: nothing is held */
	helper_end(s);
	loop_timer_cancel(s->loop, &a->timer);
	for (i = 0; i < a->n; i++)
		if (a->names[i].ctx != NULL)
			tls_ctx_free(a->names[i].ctx);
	free(a->names);
	a->names = NULL;
	a->n = 0;
	a->on = 0;
}

void
srv_acme_reload(struct srv *s)
{
	struct srv_acme *a = &s->acme;
	char dir[sizeof(a->dir)], *slash;
	int ok;

	if (!s->cfg->acme_on) {
		if (a->on)
			log_info("reload: acme is off; its certificates are "
			    "no longer served");
		srv_acme_free(s);
		return;
	}
	if (!a->on) {
		if (srv_acme_init(s) == -1)
			log_warnx("reload: acme stays off");
		return;
	}
	if (ca_dir(s, dir, sizeof(dir)) == 0 && strcmp(dir, a->dir) != 0) {
		/* The new CA's directory first: the running certificates are
		 * dropped only for one that works. */
		slash = strrchr(dir, '/');
		*slash = '\0';
		ok = dir_make(dir) == 0;
		*slash = '/';
		if (!ok || dir_make(dir) == -1) {
			log_warnx("reload: acme.directory stays %s",
			    s->acme.dir);
			return;
		}
		log_info("reload: acme.directory changed: certificates of the "
		    "new CA from now on");
		srv_acme_free(s);
		if (srv_acme_init(s) == -1)
			log_warnx("reload: acme stays off");
		return;
	}
	if (names_build(s) == -1)
		return;
	/* A name that went away takes its order with it. */
	if (a->cur[0] != '\0' && name_find(a, a->cur) == NULL) {
		log_info("acme: %s is no longer claimable: its order stops",
		    a->cur);
		helper_end(s);
	}
	loop_timer_set(s->loop, &a->timer, 0);
}

struct tls_ctx *
srv_acme_ctx(struct srv *s, const char *name)
{
	struct srv_acme_name *e;

	if (!s->acme.on || (e = name_find(&s->acme, name)) == NULL)
		return NULL;
	/* An expired one is worse than none: plain HTTP is not redirected
	 * to it, and clients are not told an https URL. */
	if (e->ctx != NULL && e->not_after <= (int64_t)time(NULL))
		return NULL;
	return e->ctx;
}

void
srv_acme_need(struct srv *s, const char *name)
{
	struct srv_acme_name *e;

	if (!s->acme.on || (e = name_find(&s->acme, name)) == NULL ||
	    e->wanted)
		return;
	e->wanted = 1;
	loop_timer_set(s->loop, &s->acme.timer, 0);
}

const char *
srv_acme_answer(struct srv *s, const char *host, const char *token,
    size_t len)
{
	struct srv_acme *a = &s->acme;

	if (!a->on || a->challenge != CFG_ACME_HTTP_01 ||
	    strcmp(host, a->cur) != 0 ||
	    a->token[0] == '\0' || strlen(a->token) != len ||
	    memcmp(a->token, token, len) != 0)
		return NULL;
	return a->keyauth;
}

struct tls_ctx *
srv_acme_alpn_ctx(struct srv *s, const char *name)
{
	struct srv_acme *a = &s->acme;

	if (!a->on || a->alpn == NULL || strcmp(a->cur, name) != 0)
		return NULL;
	return a->alpn;
}

static const char *
challenge_str(int c)
{
	return c == CFG_ACME_TLS_ALPN_01 ? "tls-alpn-01" : "http-01";
}

/* When e is next due for an order: INT64_MAX for never. */
static int64_t
due(const struct srv_acme_name *e)
{
	int64_t t;

	/* Renewed too only while in use: a name a client claimed since
	 * the start (its certificate still serves meanwhile). */
	if (!e->wanted)
		return INT64_MAX;
	t = e->ctx != NULL ? e->renew_at : 0;
	if (t < e->retry_at)
		t = e->retry_at;
	return t > e->hold_until ? t : e->hold_until;
}

/*
 * Writes all of p to the helper's stdin: small, and the helper reads it
 * at once, so never a wait. Return: 0, or -1.
 */
static int
helper_write(struct srv_acme *a, const char *p, size_t n)
{
	return fd_write_all(a->to, p, n);
}

/* Backs e off after a failure of kind refused (1) or transient (0). */
static void
backoff(struct srv_acme_name *e, int refused, const char *why)
{
	int64_t first = refused ? ACME_REFUSED_FIRST : ACME_TRANSIENT_FIRST;
	int64_t most = refused ? ACME_REFUSED_MAX : ACME_TRANSIENT_MAX;
	int64_t wait = first;
	unsigned int i;

	for (i = 0; i < e->fails && wait < most; i++)
		wait *= 2;
	if (wait > most)
		wait = most;
	e->fails++;
	if (e->hold_until > (int64_t)time(NULL) + wait)
		wait = e->hold_until - (int64_t)time(NULL);
	e->retry_at = (int64_t)time(NULL) + wait;
	log_warnx("acme: %s: no certificate: %s; trying again in %lld s%s",
	    e->name, why, (long long)wait, e->ctx != NULL ?
	    " (the current one still serves)" : "");
}

/* Starts tunnel-acme for e. Return: 0, or -1 (e backed off). */
static int
helper_start(struct srv *s, struct srv_acme_name *e)
{
	struct srv_acme *a = &s->acme;
	const struct cfg_acme *c = &s->cfg->acme;
	char *argv[] = { (char *)"tunnel-acme", NULL };
	char job[4 * PATH_MAX + 1024], out[PATH_MAX], why[256];
	int to, from, r;
	sys_pid_t pid;

	if (cert_path(a, e->name, out, sizeof(out)) == -1) {
		backoff(e, 1, "path too long");
		return -1;
	}
	r = snprintf(job, sizeof(job), "directory %s\n%s%s%s%s%s%s"
	    "account_key %s/account.key\nname %s\nout %s\nchallenge %s\n\n",
	    c->directory,
	    c->ca_file != NULL ? "ca_file " : "",
	    c->ca_file != NULL ? c->ca_file : "", c->ca_file != NULL ? "\n" : "",
	    c->email != NULL ? "email " : "", c->email != NULL ? c->email : "",
	    c->email != NULL ? "\n" : "", a->dir, e->name, out,
	    challenge_str(c->challenge));
	if (r < 0 || (size_t)r >= sizeof(job)) {
		backoff(e, 1, "the job does not fit");
		return -1;
	}
	if (sys_spawn(a->helper, argv, &to, &from, &pid) == -1) {
		(void)snprintf(why, sizeof(why), "cannot run tunnel-acme: %s",
		    strerror(errno));
		backoff(e, 0, why);
		return -1;
	}
	a->to = to;
	a->pid = pid;
	loop_handler_init(&a->h, from, helper_cb);
	if (helper_write(a, job, (size_t)r) == -1 ||
	    loop_update(s->loop, &a->h, LOOP_IN) == -1) {
		(void)snprintf(why, sizeof(why), "cannot talk to tunnel-acme: "
		    "%s", strerror(errno));
		helper_end(s);
		backoff(e, 0, why);
		return -1;
	}
	(void)snprintf(a->cur, sizeof(a->cur), "%s", e->name);
	a->challenge = c->challenge;
	a->deadline = (int64_t)time(NULL) + ACME_HELPER_DEADLINE;
	log_info("acme: %s: %s a certificate", e->name,
	    e->ctx != NULL ? "renewing" : "ordering");
	return 0;
}

/* The helper's "done": its certificate is stored; now it serves. */
static void
order_done(struct srv *s, struct srv_acme_name *e)
{
	struct srv_session *ss, *next;
	char err[512], when[64], path[PATH_MAX];

	if (cert_path(&s->acme, e->name, path, sizeof(path)) == 0)
		(void)srv_give_to_dir_owner(path);
	switch (cert_load(&s->acme, e, err, sizeof(err))) {
	case 1:
		break;
	case 0:
		(void)snprintf(err, sizeof(err), "tunnel-acme said done, but "
		    "the certificate file is missing");
		/* FALLTHROUGH */
	default:
		backoff(e, 0, err);
		return;
	}
	if (e->not_after <= (int64_t)time(NULL)) {
		/* Ordering again would give the same: a clock far ahead. */
		backoff(e, 1, "the new certificate has already expired by "
		    "this machine's clock: is the clock right?");
		return;
	}
	e->fails = 0;
	e->retry_at = 0;
	log_info("acme: %s: certificate obtained, valid until %s; renewal "
	    "from %s", e->name, date_str(e->not_after, when, sizeof(when)),
	    date_str(e->renew_at, when + 32, sizeof(when) - 32));
	/* The client that claims it hears of https now (a ROUTE). */
	for (ss = LIST_FIRST(&s->sessions); ss != NULL; ss = next) {
		next = LIST_NEXT(ss, entry);
		srv_session_regrant(ss);
	}
}

/* Whether token is base64url and short enough to keep. */
static int
token_ok(const char *t, size_t n, size_t cap)
{
	return n > 0 && n < cap && strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* One line from the helper (NUL-ended, no newline). */
static void
helper_line(struct srv *s, char *line)
{
	struct srv_acme *a = &s->acme;
	struct srv_acme_name *e = name_find(a, a->cur);
	int c = a->challenge;
	const char *type = challenge_str(c);
	size_t tlen = strlen(type), n;
	char *sp, *ka, *tok, *end, err[512];
	unsigned long wait;

	if (strncmp(line, "log ", 4) == 0) {
		/* A helper gone wrong must not fill the disk. */
		if (++a->nlogs > ACME_HELPER_LOGS) {
			if (a->nlogs == ACME_HELPER_LOGS + 1)
				log_warnx("acme: %s: tunnel-acme says too much; "
				    "its further lines are dropped", a->cur);
			return;
		}
		if ((sp = strchr(line + 4, ' ')) == NULL)
			return;
		*sp = '\0';
		if (strcmp(line + 4, "warn") == 0)
			log_warnx("acme: %s: %s", a->cur, sp + 1);
		else
			log_info("acme: %s: %s", a->cur, sp + 1);
	} else if (strncmp(line, type, tlen) == 0 && line[tlen] == ' ' &&
	    (ka = strchr(line + tlen + 1, ' ')) != NULL) {
		tok = line + tlen + 1;
		n = (size_t)(ka - tok);
		ka++;
		if (!token_ok(tok, n, sizeof(a->token)) ||
		    strlen(ka) >= sizeof(a->keyauth) ||
		    strncmp(ka, tok, n) != 0 || ka[n] != '.') {
			log_warnx("acme: %s: tunnel-acme sent a bad token",
			    a->cur);
			(void)helper_write(a, "refused\n", 8);
			return;
		}
		if (a->token[0] != '\0' || a->alpn != NULL) {
			log_warnx("acme: %s: tunnel-acme sent a second "
			    "challenge", a->cur);
			(void)helper_write(a, "refused\n", 8);
			return;
		}
		if (c == CFG_ACME_TLS_ALPN_01 && (a->alpn =
		    tls_acme_alpn_ctx(a->cur, ka, err, sizeof(err))) == NULL) {
			log_warnx("acme: %s: %s", a->cur, err);
			(void)helper_write(a, "refused\n", 8);
			return;
		}
		memcpy(a->token, tok, n);
		a->token[n] = '\0';
		(void)snprintf(a->keyauth, sizeof(a->keyauth), "%s", ka);
		if (helper_write(a, "ready\n", 6) == -1)
			log_warn("acme: %s: tunnel-acme", a->cur);
	} else if (strcmp(line, "done") == 0) {
		a->result = 1;
		if (e != NULL)
			order_done(s, e);
	} else if (strncmp(line, "fail ", 5) == 0) {
		a->result = 1;
		wait = 0;
		if ((sp = strchr(line + 5, ' ')) != NULL) {
			wait = strtoul(sp + 1, &end, 10);
			sp = *end == ' ' ? end : NULL;
		}
		if (e == NULL)
			return;
		/* The CA's own "come back later" outlives a reload. */
		if (wait > 0)
			e->hold_until = (int64_t)time(NULL) +
			    (int64_t)(wait < ACME_REFUSED_MAX ? wait :
			    ACME_REFUSED_MAX);
		backoff(e, strncmp(line + 5, "refused ", 8) == 0,
		    sp != NULL ? sp + 1 : "no reason given");
	}
}

static void
helper_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct srv_acme *a = container_of(h, struct srv_acme, h);
	struct srv *s = container_of(a, struct srv, acme);
	struct srv_acme_name *e;
	char *nl, path[PATH_MAX];
	ssize_t n;

	(void)l;
	(void)events;
	for (;;) {
		n = read(h->fd, a->buf + a->len, sizeof(a->buf) - a->len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		a->len += (size_t)n;
		a->buf[a->len] = '\0';
		while ((nl = memchr(a->buf, '\n', a->len)) != NULL) {
			*nl = '\0';
			helper_line(s, a->buf);
			a->len -= (size_t)(nl + 1 - a->buf);
			memmove(a->buf, nl + 1, a->len);
		}
		if (a->len == sizeof(a->buf) - 1)
			a->len = 0;	/* a line too long: dropped */
	}
	/* The helper's end. Root running the server by hand must not leave
	 * an account key the service's user cannot read, whatever came of
	 * the order (as for the server's own key). */
	if (snprintf(path, sizeof(path), "%s/account.key", a->dir) > 0 &&
	    access(path, F_OK) == 0)
		(void)srv_give_to_dir_owner(path);
	if (!a->result && (e = name_find(a, a->cur)) != NULL)
		backoff(e, 0, "tunnel-acme ended without a result (it "
		    "crashed, or ran past its 10-minute limit)");
	helper_end(s);
	loop_timer_set(s->loop, &a->timer, 0);
}

static void
acme_tick(struct loop *l, struct timer *t)
{
	struct srv_acme *a = container_of(t, struct srv_acme, timer);
	struct srv *s = container_of(a, struct srv, acme);
	int64_t now = (int64_t)time(NULL), next = INT64_MAX, d;
	struct srv_acme_name *e;
	size_t i;

	if (!a->on || s->stopping)
		return;
	if (a->pid > 0) {
		if (now < a->deadline) {
			loop_timer_set(l, t, (uint64_t)(a->deadline - now) *
			    1000);
			return;
		}
		e = name_find(a, a->cur);
		helper_end(s);
		if (e != NULL)
			backoff(e, 0, "tunnel-acme took too long");
	}
	for (i = 0; i < a->n; i++) {
		d = due(&a->names[i]);
		if (d <= now) {
			if (helper_start(s, &a->names[i]) == 0) {
				loop_timer_set(l, t, ACME_HELPER_DEADLINE *
				    1000);
				return;
			}
			d = due(&a->names[i]);	/* backed off */
		}
		if (d < next)
			next = d;
	}
	if (next - now > ACME_RECHECK)
		next = now + ACME_RECHECK;
	loop_timer_set(l, t, (uint64_t)(next > now ? next - now : 1) * 1000);
}
