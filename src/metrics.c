/*
 * metrics: the text a Prometheus scraper reads, and the endpoint it reads
 * it from.
 *
 * The text: families written in order, each with its HELP and TYPE lines
 * and then its samples, into one growing buffer whose failure (memory, or
 * METRICS_MAX_TEXT) is remembered and checked once at the end.
 *
 * The endpoint is a listener and at most METRICS_MAX_CONNS connections,
 * each a small state machine:
 *
 *   READ   request bytes arrive into a fixed buffer until the blank line
 *          that ends the headers; a full buffer, or the deadline, ends it
 *   WRITE  the answer (built whole, once) goes out as the socket takes it
 *   LINGER answer sent and our side shut: the peer's remaining bytes are
 *          read and dropped until it closes, so that closing with unread
 *          bytes does not reset the connection under the answer's tail
 *
 * One deadline covers the three. The request is read strictly: a request
 * line "GET /metrics HTTP/1.1" (or 1.0), header lines of visible
 * characters ending in CRLF, a Host for 1.1, and no body. Anything else
 * gets 400, 404, 405 or 431 and the connection closes; there is no
 * keep-alive, so one connection costs one request.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "metrics.h"
#include "net.h"
#include "sys.h"

#define METRICS_MAGIC		0x4d455452u
#define METRICS_BACKLOG		16
#define METRICS_PAUSE_MS	1000	/* no accept after EMFILE and such */

void
metrics_text_init(struct metrics_text *t)
{
	memset(t, 0, sizeof(*t));
}

void
metrics_text_free(struct metrics_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

static void
text_put(struct metrics_text *t, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		cap = t->cap != 0 ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		if (cap > METRICS_MAX_TEXT ||
		    (p = realloc(t->buf, cap)) == NULL) {
			t->failed = 1;
			return;
		}
		t->buf = p;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void
text_str(struct metrics_text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

void
metrics_family(struct metrics_text *t, const char *name, const char *type,
    const char *help)
{
	text_str(t, "# HELP ");
	text_str(t, name);
	text_str(t, " ");
	text_str(t, help);
	text_str(t, "\n# TYPE ");
	text_str(t, name);
	text_str(t, " ");
	text_str(t, type);
	text_str(t, "\n");
}

/* A label value as the format quotes it. */
static void
text_label_value(struct metrics_text *t, const char *v)
{
	const char *run = v;

	for (; *v != '\0'; v++) {
		const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" :
		    *v == '\n' ? "\\n" : NULL;

		if (esc == NULL)
			continue;
		text_put(t, run, (size_t)(v - run));
		text_str(t, esc);
		run = v + 1;
	}
	text_put(t, run, (size_t)(v - run));
}

void
metrics_sample(struct metrics_text *t, const char *name, uint64_t value, ...)
{
	const char *label, *v;
	char num[32];
	va_list ap;
	int first = 1;

	text_str(t, name);
	va_start(ap, value);
	while ((label = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		text_str(t, first ? "{" : ",");
		text_str(t, label);
		text_str(t, "=\"");
		text_label_value(t, v);
		text_str(t, "\"");
		first = 0;
	}
	va_end(ap);
	(void)snprintf(num, sizeof(num), "%s %llu\n", first ? "" : "}",
	    (unsigned long long)value);
	text_str(t, num);
}

enum mconn_state {
	MCONN_READ = 0,
	MCONN_WRITE,
	MCONN_LINGER,
	MCONN_DEAD,
};

struct mconn {
	uint32_t		 magic;
	enum mconn_state	 state;
	struct metrics_http	*m;
	struct handler		 h;
	struct timer		 deadline;
	char			 in[METRICS_MAX_REQUEST];
	size_t			 inlen;
	struct metrics_text	 out;
	size_t			 sent;
	struct mconn		*next, *prev;
};

struct metrics_http {
	struct loop		*loop;
	struct handler		 h;
	metrics_render_fn	*render;
	void			*arg;
	int			 port;
	size_t			 nconns;
	struct mconn		*conns;
	struct timer		 pause;		/* accept failed: wait */
};

static void	mconn_close(struct mconn *);

static const char *
mconn_state_str(enum mconn_state s)
{
	switch (s) {
	case MCONN_READ:	return "READ";
	case MCONN_WRITE:	return "WRITE";
	case MCONN_LINGER:	return "LINGER";
	case MCONN_DEAD:	return "DEAD";
	}
	return "?";
}

static void
mconn_set_state(struct mconn *c, enum mconn_state s)
{
	log_debug("metrics conn %d: %s -> %s", c->h.fd,
	    mconn_state_str(c->state), mconn_state_str(s));
	c->state = s;
}

/* The one place a connection's event mask comes from. */
static void
mconn_update(struct mconn *c)
{
	uint32_t mask = c->state == MCONN_WRITE ? LOOP_OUT : LOOP_IN;

	if (loop_update(c->m->loop, &c->h, mask) == -1) {
		log_warn("metrics: epoll");
		mconn_close(c);
	}
}

static void
free_mconn(void *arg)
{
	struct mconn *c = arg;

	metrics_text_free(&c->out);
	free(c);
}

/*
 * The listener waits while the connections are at their cap, and for a
 * moment after accept failed: level-triggered, a connection it cannot
 * take would wake it again at once, for ever.
 */
static void
listener_update(struct metrics_http *m)
{
	uint32_t mask = m->nconns < METRICS_MAX_CONNS &&
	    !loop_timer_armed(&m->pause) ? LOOP_IN : 0;

	if (m->h.fd != -1 && loop_update(m->loop, &m->h, mask) == -1)
		log_warn("metrics: epoll");
}

static void
mconn_close(struct mconn *c)
{
	struct metrics_http *m = c->m;

	if (c->state == MCONN_DEAD)
		return;
	mconn_set_state(c, MCONN_DEAD);
	loop_timer_cancel(m->loop, &c->deadline);
	loop_close(m->loop, &c->h);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	m->nconns--;
	listener_update(m);
	(void)loop_defer(m->loop, free_mconn, c);
}

/* Builds the whole answer into c->out and starts writing it. */
static void
mconn_answer(struct mconn *c, int status, const char *extra)
{
	struct metrics_text body;
	const char *reason, *type = "text/plain; charset=utf-8";
	char head[256];
	int n;

	metrics_text_init(&body);
	if (status == 200) {
		if (c->m->render(c->m->arg, &body) == -1 || body.failed) {
			metrics_text_free(&body);
			metrics_text_init(&body);
			status = 500;
		} else {
			type = "text/plain; version=0.0.4; charset=utf-8";
		}
	}
	switch (status) {
	case 200:	reason = "OK"; break;
	case 400:	reason = "Bad Request"; break;
	case 404:	reason = "Not Found"; break;
	case 405:	reason = "Method Not Allowed"; break;
	case 431:	reason = "Request Header Fields Too Large"; break;
	default:	reason = "Internal Server Error"; break;
	}
	if (status != 200) {
		char line[64];

		(void)snprintf(line, sizeof(line), "%d %s\n", status, reason);
		text_str(&body, line);
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", status, reason, type,
	    body.failed ? 0 : body.len, extra != NULL ? extra : "");
	metrics_text_free(&c->out);
	text_put(&c->out, head, (size_t)n);
	if (body.len != 0)
		text_put(&c->out, body.buf, body.len);
	metrics_text_free(&body);
	if (c->out.failed) {
		log_warnx("metrics: out of memory answering a request");
		mconn_close(c);
		return;
	}
	c->sent = 0;
	mconn_set_state(c, MCONN_WRITE);
	mconn_update(c);
}

/* Header bytes: visible ASCII, space and tab; nothing else. */
static int
line_ok(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Judges the request in c->in[0..len), len ending just after the blank
 * line. Return: the status to answer.
 */
static int
request_status(const char *req, size_t len)
{
	const char *p = req, *end = req + len - 2, *eol, *sp1, *sp2;
	int v11, host = 0, body = 0;

	if ((eol = memchr(p, '\r', (size_t)(end - p))) == NULL ||
	    eol[1] != '\n' || !line_ok(p, (size_t)(eol - p)))
		return 400;
	if ((sp1 = memchr(p, ' ', (size_t)(eol - p))) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) == NULL)
		return 400;
	if (eol - sp2 - 1 != 8 || (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 &&
	    memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return 400;
	v11 = sp2[8] == '1';
	for (p = eol + 2; p < end; p = eol + 2) {
		const char *colon;

		if ((eol = memchr(p, '\r', (size_t)(end - p + 2))) == NULL ||
		    eol[1] != '\n' || eol == p ||
		    !line_ok(p, (size_t)(eol - p)))
			return 400;
		/* No obsolete line folding, no empty or spaced names. */
		if (*p == ' ' || *p == '\t' ||
		    (colon = memchr(p, ':', (size_t)(eol - p))) == NULL ||
		    colon == p || memchr(p, ' ', (size_t)(colon - p)) != NULL ||
		    memchr(p, '\t', (size_t)(colon - p)) != NULL)
			return 400;
		if (colon - p == 4 && strncasecmp(p, "host", 4) == 0)
			host++;
		if ((colon - p == 17 &&
		    strncasecmp(p, "transfer-encoding", 17) == 0) ||
		    (colon - p == 14 &&
		    strncasecmp(p, "content-length", 14) == 0 &&
		    strspn(colon + 1, " \t0") != (size_t)(eol - colon - 1)))
			body = 1;
	}
	if (sp1 - req != 3 || memcmp(req, "GET", 3) != 0)
		return 405;
	/* A GET with a body is not what a scraper sends. */
	if ((v11 && host != 1) || host > 1 || body)
		return 400;
	if (sp2 - sp1 - 1 != 8 || memcmp(sp1 + 1, "/metrics", 8) != 0)
		return 404;
	return 200;
}

static void
mconn_read(struct mconn *c)
{
	char *end;
	ssize_t n;
	int status;

	n = sys_recv(c->h.fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mconn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	end = NULL;
	if (c->inlen >= 4) {
		size_t i, from = c->inlen - (size_t)n;

		/* The blank line may straddle two reads. */
		for (i = from > 3 ? from - 3 : 0; i + 4 <= c->inlen; i++)
			if (memcmp(c->in + i, "\r\n\r\n", 4) == 0) {
				end = c->in + i + 4;
				break;
			}
	}
	if (end == NULL) {
		if (c->inlen == sizeof(c->in))
			mconn_answer(c, 431, NULL);
		return;
	}
	status = request_status(c->in, (size_t)(end - c->in));
	mconn_answer(c, status, status == 405 ? "Allow: GET\r\n" : NULL);
}

static void
mconn_write(struct mconn *c)
{
	ssize_t n;

	while (c->sent < c->out.len) {
		n = sys_send(c->h.fd, c->out.buf + c->sent,
		    c->out.len - c->sent, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			mconn_close(c);
			return;
		}
		c->sent += (size_t)n;
	}
	if (sys_shutdown(c->h.fd, SHUT_WR) == -1) {
		mconn_close(c);
		return;
	}
	mconn_set_state(c, MCONN_LINGER);
	mconn_update(c);
}

static void
mconn_linger(struct mconn *c)
{
	char buf[1024];
	ssize_t n;

	n = sys_recv(c->h.fd, buf, sizeof(buf), 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		mconn_close(c);
}

static void
mconn_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct mconn *c = container_of(h, struct mconn, h);

	(void)l;
	(void)events;
	if (c->magic != METRICS_MAGIC)
		fatalx("metrics: bad magic");
	switch (c->state) {
	case MCONN_READ:
		mconn_read(c);
		break;
	case MCONN_WRITE:
		mconn_write(c);
		break;
	case MCONN_LINGER:
		mconn_linger(c);
		break;
	case MCONN_DEAD:
		break;
	}
}

static void
mconn_timeout(struct loop *l, struct timer *t)
{
	struct mconn *c = container_of(t, struct mconn, deadline);

	(void)l;
	log_debug("metrics conn %d: deadline in %s", c->h.fd,
	    mconn_state_str(c->state));
	mconn_close(c);
}

static void
listener_resume(struct loop *l, struct timer *t)
{
	struct metrics_http *m = container_of(t, struct metrics_http, pause);

	(void)l;
	listener_update(m);
}

static void
listener_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct metrics_http *m = container_of(h, struct metrics_http, h);
	struct mconn *c;
	int fd;

	(void)events;
	while (m->nconns < METRICS_MAX_CONNS) {
		fd = net_accept(h->fd, NULL, NULL);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN)
				return;
			log_warn("metrics: accept (pausing %d ms)",
			    METRICS_PAUSE_MS);
			loop_timer_set(l, &m->pause, METRICS_PAUSE_MS);
			listener_update(m);
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			log_warn("metrics");
			(void)sys_close(fd);
			return;
		}
		c->magic = METRICS_MAGIC;
		c->m = m;
		loop_handler_init(&c->h, fd, mconn_cb);
		loop_timer_init(&c->deadline, mconn_timeout);
		if ((c->next = m->conns) != NULL)
			c->next->prev = c;
		m->conns = c;
		m->nconns++;
		loop_timer_set(l, &c->deadline, METRICS_DEADLINE_MS);
		mconn_update(c);
	}
	listener_update(m);
}

struct metrics_http *
metrics_http_new(struct loop *l, const char *host, int port,
    metrics_render_fn *render, void *arg)
{
	struct metrics_http *m;
	int fd, e;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((fd = net_listen(host, port, METRICS_BACKLOG)) == -1) {
		e = errno;
		free(m);
		errno = e;
		return NULL;
	}
	m->loop = l;
	m->render = render;
	m->arg = arg;
	m->port = net_local_port(fd);
	loop_handler_init(&m->h, fd, listener_cb);
	loop_timer_init(&m->pause, listener_resume);
	if (loop_update(l, &m->h, LOOP_IN) == -1) {
		e = errno;
		(void)sys_close(fd);
		free(m);
		errno = e;
		return NULL;
	}
	return m;
}

int
metrics_http_port(const struct metrics_http *m)
{
	return m->port;
}

static void
free_http(void *arg)
{
	free(arg);
}

void
metrics_http_free(struct metrics_http *m)
{
	if (m == NULL)
		return;
	loop_timer_cancel(m->loop, &m->pause);
	while (m->conns != NULL)
		mconn_close(m->conns);
	loop_close(m->loop, &m->h);
	m->h.fd = -1;
	(void)loop_defer(m->loop, free_http, m);
}
