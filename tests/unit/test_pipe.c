/*
 * Unit tests for src/pipe.c, the pool of splice pipes: a pipe given back
 * is handed out again only if it is empty, the spare stack keeps its cap,
 * a pipe made past the user's pipe budget is never kept while the next
 * ones get the full size again once the budget allows (even when it was
 * spent before the pool started), and a size above the kernel's maximum
 * leaves the pool on the default for good.
 */
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pipe.h"
#include "sys.h"
#include "test.h"

/* Bytes waiting in the pipe read from fd, or -1 if fd is not open. */
static int
queued(int fd)
{
	int n;

	if (ioctl(fd, FIONREAD, &n) == -1)
		return -1;
	return n;
}

static int
test_drop_empties(void)
{
	struct pipe_pool *p = pipe_pool_new(4, 0);
	int fds[2], again[2];

	ASSERT(p != NULL);
	ASSERT_EQ(pipe_get(p, fds), 0);
	ASSERT_EQ(write(fds[1], "someone else's bytes", 20), 20);
	/* The caller's count is right: drained, then kept as a spare. */
	pipe_drop(p, fds, 20);
	ASSERT_EQ(fds[0], -1);
	ASSERT_EQ(pipe_spare(p), 1);
	ASSERT_EQ(pipe_in_use(p), 0);
	ASSERT_EQ(pipe_get(p, again), 0);
	ASSERT_EQ(queued(again[0]), 0);
	pipe_put(p, again);
	pipe_pool_free(p);
	return TEST_PASS;
}

static int
test_drop_short_kills(void)
{
	struct pipe_pool *p = pipe_pool_new(4, 0);
	int fds[2], r, spare;

	ASSERT(p != NULL);
	spare = (int)pipe_spare(p);
	ASSERT_EQ(pipe_get(p, fds), 0);
	r = fds[0];
	ASSERT_EQ(write(fds[1], "0123456789", 10), 10);
	/*
	 * The caller believes 20 bytes are queued, the pipe holds 10: the
	 * count is wrong, so whatever is in there cannot be trusted and
	 * the pipe is closed, not kept.
	 */
	pipe_drop(p, fds, 20);
	ASSERT_EQ(fds[0], -1);
	ASSERT_EQ(pipe_in_use(p), 0);
	ASSERT_EQ((int)pipe_spare(p), spare - 1);
	ASSERT_EQ(queued(r), -1);
	pipe_pool_free(p);
	return TEST_PASS;
}

static int
test_kill_never_reused(void)
{
	struct pipe_pool *p = pipe_pool_new(4, 0);
	int fds[2], again[2];

	ASSERT(p != NULL);
	ASSERT_EQ(pipe_get(p, fds), 0);
	ASSERT_EQ(write(fds[1], "x", 1), 1);
	pipe_kill(p, fds);
	ASSERT_EQ(fds[0], -1);
	ASSERT_EQ(pipe_spare(p), 0);
	ASSERT_EQ(pipe_get(p, again), 0);
	ASSERT_EQ(queued(again[0]), 0);
	pipe_kill(p, again);
	pipe_pool_free(p);
	return TEST_PASS;
}

static int
test_spares_cap(void)
{
	struct pipe_pool *p = pipe_pool_new(2, 0);
	int fds[3][2], i;

	ASSERT(p != NULL);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(pipe_get(p, fds[i]), 0);
	ASSERT_EQ(pipe_in_use(p), 3);
	for (i = 0; i < 3; i++)
		pipe_put(p, fds[i]);
	ASSERT_EQ(pipe_spare(p), 2);
	ASSERT_EQ(pipe_in_use(p), 0);
	pipe_pool_free(p);
	return TEST_PASS;
}

static int
test_sized(void)
{
	struct pipe_pool *p = pipe_pool_new(2, 256 * 1024);
	int fds[2];

	ASSERT(p != NULL);
	ASSERT_EQ(pipe_capacity(p), 256 * 1024);
	ASSERT_EQ(pipe_get(p, fds), 0);
	ASSERT_EQ(fcntl(fds[0], F_GETPIPE_SZ), 256 * 1024);
	pipe_put(p, fds);
	pipe_pool_free(p);
	return TEST_PASS;
}

static long
read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	(void)fclose(f);
	return v;
}

/*
 * Each *_child runs through as_unprivileged. Exit status: 0 pass, 1 fail,
 * 77 skip.
 */
static int
budget_child(void)
{
	long soft = read_long("/proc/sys/fs/pipe-user-pages-soft");
	long max = read_long("/proc/sys/fs/pipe-max-size");
	const int size = 1 << 20;
	struct pipe_pool *p;
	int (*held)[2], n, i, small[2], again[2], found = -1;
	size_t spare;

	if (soft <= 0 || max < size)
		return TEST_SKIP;
	n = (int)(soft * 4096 / size) + 8;
	if ((held = calloc((size_t)n, sizeof(*held))) == NULL)
		return TEST_FAIL;
	if ((p = pipe_pool_new(4, size)) == NULL)
		return TEST_FAIL;
	ASSERT_EQ(pipe_capacity(p), size);
	for (i = 0; i < n && found == -1; i++) {
		ASSERT_EQ(pipe_get(p, held[i]), 0);
		if (fcntl(held[i][0], F_GETPIPE_SZ) < size)
			found = i;
	}
	/* Past the budget: the kernel refused the size. */
	ASSERT(found >= 0);
	ASSERT(found >= n - 16);
	spare = pipe_spare(p);
	small[0] = held[found][0];
	small[1] = held[found][1];
	pipe_put(p, small);
	/* Given back, not kept: the next user would get a tiny pipe. */
	ASSERT_EQ(pipe_spare(p), spare);
	/* Budget back (two full pipes gone): full size again. */
	pipe_kill(p, held[0]);
	pipe_kill(p, held[1]);
	ASSERT_EQ(pipe_get(p, again), 0);
	ASSERT_EQ(fcntl(again[0], F_GETPIPE_SZ), size);
	pipe_put(p, again);
	ASSERT_EQ(pipe_spare(p), spare + 1);
	for (i = 2; i < found; i++)
		pipe_kill(p, held[i]);
	free(held);
	pipe_pool_free(p);
	return TEST_PASS;
}

/* A new pipe from p has size bytes and, given back, is kept as the spare. */
static int
kept_at_size(struct pipe_pool *p, int size)
{
	int got[2];

	ASSERT_EQ(pipe_get(p, got), 0);
	ASSERT_EQ(fcntl(got[0], F_GETPIPE_SZ), size);
	pipe_put(p, got);
	ASSERT_EQ(pipe_spare(p), 1);
	return TEST_PASS;
}

/*
 * The budget already spent when the pool starts (other processes of the
 * user, a restart under load): the refused probe must not make the pool
 * settle for small pipes once the budget frees.
 */
static int
spent_child(void)
{
	long soft = read_long("/proc/sys/fs/pipe-user-pages-soft");
	long max = read_long("/proc/sys/fs/pipe-max-size");
	const int size = 1 << 20;
	struct pipe_pool *p;
	int (*held)[2], n, i;

	if (soft <= 0 || max < size)
		return TEST_SKIP;
	n = (int)(soft * 4096 / size) + 8;
	if ((held = calloc((size_t)n, sizeof(*held))) == NULL)
		return TEST_FAIL;
	for (i = 0; i < n; i++) {
		ASSERT_EQ(pipe2(held[i], O_CLOEXEC), 0);
		if (fcntl(held[i][1], F_SETPIPE_SZ, size) == -1)
			break;
	}
	ASSERT(i < n);		/* the budget is spent */
	ASSERT((p = pipe_pool_new(4, size)) != NULL);
	ASSERT_EQ(pipe_capacity(p), size);
	ASSERT_EQ(pipe_spare(p), 0);	/* the tiny probe was not kept */
	for (n = i + 1, i = 0; i < n; i++) {
		(void)close(held[i][0]);
		(void)close(held[i][1]);
	}
	free(held);
	ASSERT_EQ(kept_at_size(p, size), TEST_PASS);
	pipe_pool_free(p);
	return TEST_PASS;
}

/*
 * A size above fs.pipe-max-size is refused to an unprivileged process for
 * good: the pool keeps the kernel default, and its pipes are spares like
 * any others rather than undersized ones closed on every return.
 */
static int
above_max_child(void)
{
	long max = read_long("/proc/sys/fs/pipe-max-size");
	struct pipe_pool *p;
	int def[2], defsize;

	if (max <= 0 || max > (1L << 29))
		return TEST_SKIP;
	ASSERT_EQ(pipe2(def, O_CLOEXEC), 0);
	defsize = fcntl(def[0], F_GETPIPE_SZ);
	(void)close(def[0]);
	(void)close(def[1]);
	ASSERT((p = pipe_pool_new(4, (int)max * 2)) != NULL);
	ASSERT_EQ(pipe_capacity(p), defsize);
	ASSERT_EQ(kept_at_size(p, defsize), TEST_PASS);
	pipe_pool_free(p);
	return TEST_PASS;
}

/*
 * Runs child() in a child process under a uid nobody else uses, without
 * privileges, so that the kernel's pipe limits apply and the per-user
 * budget is the child's alone.
 */
static int
as_unprivileged(int (*child)(void))
{
	struct rlimit rl = { 4096, 4096 };
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return TEST_SKIP;	/* the user's other pipes share the budget */
	if ((pid = fork()) == -1)
		return TEST_FAIL;
	if (pid == 0) {
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (setgid(54321) == -1 || setuid(54321) == -1)
			_exit(TEST_SKIP);
		_exit(child());
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return TEST_FAIL;
	ASSERT(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int
test_over_budget(void)
{
	return as_unprivileged(budget_child);
}

static int
test_spent_at_start(void)
{
	return as_unprivileged(spent_child);
}

static int
test_above_max(void)
{
	return as_unprivileged(above_max_child);
}

static const struct test tests[] = {
	{ "pipe_drop_empties", test_drop_empties },
	{ "pipe_drop_short_kills", test_drop_short_kills },
	{ "pipe_kill_never_reused", test_kill_never_reused },
	{ "pipe_spares_cap", test_spares_cap },
	{ "pipe_sized", test_sized },
	{ "pipe_over_budget", test_over_budget },
	{ "pipe_spent_at_start", test_spent_at_start },
	{ "pipe_above_max", test_above_max },
};

/* The pool serves splice alone: a build that copies never makes one. */
TEST_MAIN_WHEN(tests, sys_can_splice())
