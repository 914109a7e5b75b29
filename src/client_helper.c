/*
 * client_helper: short-lived helper processes for the two jobs that may
 * block for as long as someone else likes, and so must never run in the
 * loop: crypt(3) with a setting chosen by the server, and getaddrinfo()
 * with a resolver that may hang.
 *
 * A helper is this same binary, executed again with the hidden arguments
 * "--helper MODE" (sys_helper_spawn: posix_spawn, so that the child never
 * holds a copy of the loop's sockets). It gets its input on stdin (fields
 * separated by NUL, so a password never shows in argv or ps), writes its
 * answer to stdout and exits.
 *
 * The loop watches the helper's stdout through a struct cli_helper; at
 * EOF the child is reaped and the owner's callback gets the answer.
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crypt_policy.h"
#include "fdio.h"
#include "log.h"
#include "sys.h"

#define HELPER_INPUT_MAX	2048
/* Above the dearest allowed setting's memory: libxcrypt's own buffers. */
#define HELPER_MEM_MARGIN	(64ull << 20)

static void	helper_cb(struct loop *, struct handler *, uint32_t);

void
cli_helper_init(struct cli_helper *hp, struct loop *l,
    void (*done)(struct cli_helper *, int ok))
{
	memset(hp, 0, sizeof(*hp));
	hp->loop = l;
	hp->done = done;
	loop_handler_init(&hp->h, -1, helper_cb);
}

int
cli_helper_start(struct cli_helper *hp, const char *mode, const void *input,
    size_t inlen)
{
	int to, from;

	cli_helper_cancel(hp);
	if (inlen > HELPER_INPUT_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	/*
	 * A second try before giving up: under Wine a spawn has been seen to
	 * fail once and work at once after, and a failure here costs the
	 * login a reconnect with its backoff (seconds).
	 */
	if (sys_helper_spawn(mode, &to, &from, &hp->pid) == -1 &&
	    sys_helper_spawn(mode, &to, &from, &hp->pid) == -1)
		return -1;
	hp->len = 0;
	/* Smaller than a pipe's buffer: this write never blocks. */
	if (write(to, input, inlen) != (ssize_t)inlen) {
		(void)close(to);
		(void)sys_close(from);
		cli_helper_cancel(hp);
		return -1;
	}
	(void)close(to);
	loop_handler_init(&hp->h, from, helper_cb);
	if (loop_update(hp->loop, &hp->h, LOOP_IN) == -1) {
		cli_helper_cancel(hp);
		return -1;
	}
	return 0;
}

void
cli_helper_cancel(struct cli_helper *hp)
{
	if (hp->h.fd != -1)
		loop_close(hp->loop, &hp->h);
	if (hp->pid > 0)
		(void)sys_helper_reap(hp->pid, 1);
	hp->pid = 0;
	auth_wipe(hp->buf, sizeof(hp->buf));
	hp->len = 0;
}

int
cli_helper_running(const struct cli_helper *hp)
{
	return hp->pid > 0;
}

static void
helper_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct cli_helper *hp = container_of(h, struct cli_helper, h);
	ssize_t n;
	int exited_ok;

	(void)l;
	(void)events;
	if (h->fd == -1)
		return;
	n = sys_read(h->fd, hp->buf + hp->len, sizeof(hp->buf) - hp->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		hp->len += (size_t)n;
		if (hp->len < sizeof(hp->buf))
			return;		/* EOF still to come */
	}
	/* EOF (the helper is done), an error, or more than fits: finish. */
	loop_close(hp->loop, &hp->h);
	exited_ok = sys_helper_reap(hp->pid, 0);
	hp->pid = 0;
	/* An error reading may have lost the end of the answer. */
	hp->done(hp, n == 0 && exited_ok && hp->len < sizeof(hp->buf));
}

/* --- the helper's side: runs in the child, after exec. --- */

static size_t
read_input(char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1) {
		n = read(STDIN_FILENO, buf + got, len - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/* The next NUL-terminated field of buf[0..len), or NULL. */
static const char *
field(const char *buf, size_t len, size_t *off)
{
	const char *f = buf + *off;
	const char *nul;

	if (*off >= len)
		return NULL;
	nul = memchr(f, '\0', len - *off);
	if (nul == NULL)
		return NULL;
	*off = (size_t)(nul - buf) + 1;
	return f;
}

/*
 * The second fence around a setting chosen by the server, after
 * crypt_policy: the address space may grow by the dearest allowed
 * setting's memory and a margin, no more, and the CPU time is capped a
 * little above the parent's deadline, which also bounds a helper whose
 * parent died (nobody left to kill it). Return: 0, or -1 when the limits
 * cannot be set (the hash is then not run).
 */
static int
limit_helper(void)
{
	return sys_helper_limits(CRYPT_POLICY_MAX_MEM + HELPER_MEM_MARGIN,
	    CLI_HASH_TIMEOUT_MS / 1000 + 2);
}

/* Input: password, setting. Output: the hash. */
static int
helper_crypt(const char *in, size_t len)
{
	char out[AUTH_HASH_MAX];
	const char *pw, *setting;
	size_t off = 0;
	int r = 1;

	pw = field(in, len, &off);
	setting = field(in, len, &off);
	if (pw != NULL && setting != NULL && limit_helper() == 0 &&
	    auth_crypt(pw, setting, out, sizeof(out)) == 0)
		r = fd_write_all(STDOUT_FILENO, out, strlen(out)) == 0 ? 0 : 1;
	auth_wipe(out, sizeof(out));
	return r;
}

/*
 * Input: host, port. Output: 'A' and records (a socklen_t, then that many
 * bytes of sockaddr), in getaddrinfo's order; or 'E' and a reason.
 */
static int
helper_resolve(const char *in, size_t len)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *host, *service;
	char msg[256];
	size_t off = 0, n = 0;
	socklen_t alen;
	int r;

	host = field(in, len, &off);
	service = field(in, len, &off);
	if (host == NULL || service == NULL)
		return 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	r = getaddrinfo(host, service, &hints, &res);
	if (r == EAI_BADFLAGS || (r != 0 && res == NULL)) {
		/* Loopback-only hosts have no "configured" address family. */
		hints.ai_flags = AI_NUMERICSERV;
		r = getaddrinfo(host, service, &hints, &res);
	}
	if (r != 0) {
		(void)snprintf(msg, sizeof(msg), "E%s",
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return fd_write_all(STDOUT_FILENO, msg, strlen(msg)) == 0 ? 0 : 1;
	}
	if (fd_write_all(STDOUT_FILENO, "A", 1) == -1)
		return 1;
	for (ai = res; ai != NULL && n < CLI_MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(struct sockaddr_storage))
			continue;
		alen = ai->ai_addrlen;
		if (fd_write_all(STDOUT_FILENO, &alen, sizeof(alen)) == -1 ||
		    fd_write_all(STDOUT_FILENO, ai->ai_addr, alen) == -1)
			return 1;
		n++;
	}
	freeaddrinfo(res);
	return 0;
}

int
cli_helper_main(int argc, char **argv)
{
	char in[HELPER_INPUT_MAX];
	size_t len;
	int r = 2;

	if (argc != 3 || strcmp(argv[1], "--helper") != 0)
		return -1;
	len = read_input(in, sizeof(in));
	if (strcmp(argv[2], "crypt") == 0)
		r = helper_crypt(in, len);
	else if (strcmp(argv[2], "resolve") == 0)
		r = helper_resolve(in, len);
	auth_wipe(in, sizeof(in));
	return r;
}
