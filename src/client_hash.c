/*
 * client_hash: computing crypt(password, setting) off the event loop.
 *
 * The setting comes from the server, so its cost is the server's choice:
 * a yescrypt or bcrypt setting can take seconds, or hours from an
 * impostor. The hash runs in a forked child that writes the result to a
 * pipe the loop watches; bridged visitors keep moving meanwhile, and a
 * hash that takes longer than CLI_HASH_TIMEOUT_MS kills the child and
 * fails the login. The result is cached per setting by the caller, so a
 * reconnect to the same server costs nothing.
 */
#include <sys/epoll.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"

static void	hash_cb(struct loop *, struct handler *, uint32_t);
static void	hash_timeout(struct loop *, struct timer *);

/* Stops a running hash: kills and reaps the child, closes the pipe. */
void
cli_hash_cancel(struct cli *c)
{
	loop_timer_cancel(c->loop, &c->hash_timer);
	loop_close(c->loop, &c->hash_h);
	if (c->hash_pid > 0) {
		(void)kill(c->hash_pid, SIGKILL);
		(void)waitpid(c->hash_pid, NULL, 0);
	}
	c->hash_pid = 0;
	c->hash_len = 0;
}

int
cli_hash_start(struct cli *c, const char *setting)
{
	char out[AUTH_HASH_MAX];
	int fds[2];
	pid_t pid;

	cli_hash_cancel(c);
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	pid = fork();
	if (pid == -1) {
		(void)close(fds[0]);
		(void)close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* Child: one result, no stdio, no atexit handlers. */
		ssize_t n = 0;

		(void)close(fds[0]);
		if (auth_crypt(c->cfg->password, setting, out,
		    sizeof(out)) == 0)
			n = write(fds[1], out, strlen(out));
		_exit(n > 0 ? 0 : 1);
	}
	(void)close(fds[1]);
	c->hash_pid = pid;
	c->hash_len = 0;
	loop_handler_init(&c->hash_h, fds[0], hash_cb);
	loop_timer_init(&c->hash_timer, hash_timeout);
	loop_timer_set(c->loop, &c->hash_timer, CLI_HASH_TIMEOUT_MS);
	if (loop_update(c->loop, &c->hash_h, EPOLLIN) == -1) {
		cli_hash_cancel(c);
		return -1;
	}
	return 0;
}

static void
hash_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct cli *c = container_of(h, struct cli, hash_h);
	ssize_t n;
	int status = 0;

	(void)l;
	(void)events;
	if (h->fd == -1)
		return;
	n = read(h->fd, c->hash_buf + c->hash_len,
	    sizeof(c->hash_buf) - 1 - c->hash_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		c->hash_len += (size_t)n;
		if (c->hash_len < sizeof(c->hash_buf) - 1)
			return;		/* EOF still to come */
	}
	/* EOF (child done), an error, or more than a hash: finish. */
	loop_timer_cancel(c->loop, &c->hash_timer);
	loop_close(c->loop, &c->hash_h);
	(void)waitpid(c->hash_pid, &status, 0);
	c->hash_pid = 0;
	c->hash_buf[c->hash_len] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    c->hash_len == 0 || c->hash_buf[0] == '*' ||
	    c->hash_len >= sizeof(c->hash_buf) - 1) {
		c->hash_len = 0;
		cli_hash_done(c, NULL, "the server sent a password salt this "
		    "client cannot use");
		return;
	}
	cli_hash_done(c, c->hash_buf, NULL);
	auth_wipe(c->hash_buf, sizeof(c->hash_buf));
	c->hash_len = 0;
}

static void
hash_timeout(struct loop *l, struct timer *t)
{
	struct cli *c = container_of(t, struct cli, hash_timer);
	char why[128];

	(void)l;
	cli_hash_cancel(c);
	(void)snprintf(why, sizeof(why), "the server's password salt takes "
	    "over %d s to hash: refusing it", CLI_HASH_TIMEOUT_MS / 1000);
	cli_hash_done(c, NULL, why);
}
