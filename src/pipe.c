/*
 * pipe: the pool behind the splice bridge. Spare pipes sit on a small
 * stack; pipe_get pops one or creates a new one, pipe_put pushes it back
 * only if it is empty (the caller's byte count says so) and the stack has
 * room. A pipe that saw an error or still holds bytes is closed, because
 * the next user would otherwise receive someone else's data.
 *
 * An unprivileged user's pipes share a budget (fs.pipe-user-pages-soft,
 * 64 MiB by default): past it the kernel refuses to enlarge a pipe and
 * makes new ones tiny (two pages). Such a pipe still works, slowly; it is
 * closed when given back, never kept as a spare, and the next new pipe
 * asks for the full size again, so a burst over the budget costs speed
 * only while it lasts.
 */
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipe.h"
#include "sys.h"

/* The kernel's default pipe capacity (PIPE_DEF_BUFFERS pages). */
#define PIPE_DEFAULT_SIZE	(16 * 4096)

struct pipe_pool {
	int	(*spare)[2];
	size_t	 nspare, max_idle;
	size_t	 in_use;
	int	 want_size;	/* F_SETPIPE_SZ value, 0 = leave alone */
	size_t	 capacity;	/* bytes a pipe of this pool holds */
	int	 devnull;	/* sink for pipe_drop, or -1 */
	uint8_t	*small;		/* small[fd]: the pipe read from fd is undersized */
	size_t	 nsmall;	/* entries in small */
};

/* Notes that the pipe read from fd did not get the pool's size. */
static void
small_set(struct pipe_pool *p, int fd)
{
	size_t n = (size_t)fd + 1;
	uint8_t *a;

	if (n > p->nsmall) {
		if (n < 2 * p->nsmall)
			n = 2 * p->nsmall;
		/* No room to note it: the pipe may be kept, merely slower. */
		if ((a = realloc(p->small, n)) == NULL)
			return;
		memset(a + p->nsmall, 0, n - p->nsmall);
		p->small = a;
		p->nsmall = n;
	}
	p->small[fd] = 1;
}

/* Whether the pipe read from fd is undersized; forgets it either way. */
static int
small_take(struct pipe_pool *p, int fd)
{
	int was;

	if (fd < 0 || (size_t)fd >= p->nsmall)
		return 0;
	was = p->small[fd];
	p->small[fd] = 0;
	return was;
}

/* The cap on spare pipes (see pipe.h). */
static size_t
spares_cap(size_t max, int size)
{
	struct rlimit rl;
	size_t n = max;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 64 < n)
		n = (size_t)(rl.rlim_cur / 64);
	if (size > 0 && (size_t)(16 << 20) / (size_t)size < n)
		n = (size_t)(16 << 20) / (size_t)size;
	return n > 0 ? n : 1;
}

/*
 * Whether the kernel refuses size for good: above fs.pipe-max-size, which
 * only privileged processes may pass. Unknown (no /proc) counts as yes.
 */
static int
above_max_size(int size)
{
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
	long max = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &max) != 1)
			max = -1;
		(void)fclose(f);
	}
	return max < 0 || size > max;
}

/* What F_SETPIPE_SZ makes of size: a power-of-two number of pages. */
static size_t
granted_size(int size)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pg = page > 0 ? (size_t)page : 4096;
	size_t pages = ((size_t)size + pg - 1) / pg, n = 1;

	while (n < pages)
		n <<= 1;
	return n * pg;
}

struct pipe_pool *
pipe_pool_new(size_t max_idle, int size)
{
	struct pipe_pool *p;
	int fds[2];

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->max_idle = max_idle = spares_cap(max_idle, size);
	p->spare = calloc(max_idle, sizeof(*p->spare));
	if (p->spare == NULL) {
		free(p);
		return NULL;
	}
	p->want_size = size;
	p->capacity = PIPE_DEFAULT_SIZE;
	p->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	/* Probe once what the kernel gives us, so splice lengths match. */
	if (pipe_get(p, fds) == 0) {
		int cap = sys_pipe_size(fds[0]);

		if (!small_take(p, fds[0])) {
			if (cap > 0)
				p->capacity = (size_t)cap;
			pipe_put(p, fds);
		} else {
			/*
			 * Refused above fs.pipe-max-size: for good, every
			 * pipe keeps the kernel default. Refused below it:
			 * the user's pipe budget is spent for now (other
			 * processes, or a restart under load), and pipes
			 * get the size again once it frees. The probe may
			 * be tiny either way, so it is not kept.
			 */
			if (above_max_size(size))
				p->want_size = 0;
			else
				p->capacity = granted_size(size);
			pipe_kill(p, fds);
		}
	}
	return p;
}

void
pipe_pool_trim(struct pipe_pool *p)
{
	while (p->nspare > 0) {
		p->nspare--;
		(void)close(p->spare[p->nspare][0]);
		(void)close(p->spare[p->nspare][1]);
	}
}

void
pipe_pool_free(struct pipe_pool *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nspare; i++) {
		(void)close(p->spare[i][0]);
		(void)close(p->spare[i][1]);
	}
	if (p->devnull != -1)
		(void)close(p->devnull);
	free(p->small);
	free(p->spare);
	free(p);
}

int
pipe_get(struct pipe_pool *p, int fds[2])
{
	if (p->nspare > 0) {
		p->nspare--;
		fds[0] = p->spare[p->nspare][0];
		fds[1] = p->spare[p->nspare][1];
		p->in_use++;
		return 0;
	}
	if (sys_pipe(fds) == -1)
		return -1;
	/* Refused: over the user's budget for now (see the top). */
	if (p->want_size > 0 &&
	    sys_pipe_resize(fds[1], p->want_size) == -1)
		small_set(p, fds[0]);
	p->in_use++;
	return 0;
}

void
pipe_put(struct pipe_pool *p, int fds[2])
{
	p->in_use--;
	if (!small_take(p, fds[0]) && p->nspare < p->max_idle) {
		p->spare[p->nspare][0] = fds[0];
		p->spare[p->nspare][1] = fds[1];
		p->nspare++;
	} else {
		(void)close(fds[0]);
		(void)close(fds[1]);
	}
	fds[0] = fds[1] = -1;
}

void
pipe_kill(struct pipe_pool *p, int fds[2])
{
	p->in_use--;
	(void)small_take(p, fds[0]);
	(void)close(fds[0]);
	(void)close(fds[1]);
	fds[0] = fds[1] = -1;
}

void
pipe_drop(struct pipe_pool *p, int fds[2], size_t n)
{
	ssize_t r;

	while (n > 0 && p->devnull != -1) {
		r = sys_splice(fds[0], p->devnull, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n -= (size_t)r;
	}
	if (n == 0)
		pipe_put(p, fds);
	else
		pipe_kill(p, fds);
}

size_t
pipe_capacity(const struct pipe_pool *p)
{
	return p->capacity;
}

size_t
pipe_in_use(const struct pipe_pool *p)
{
	return p->in_use;
}

size_t
pipe_spare(const struct pipe_pool *p)
{
	return p->nspare;
}
