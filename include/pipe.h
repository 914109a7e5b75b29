/*
 * pipe: a per-process pool of idle kernel pipes for splice(). A bridge
 * direction borrows a pipe only while bytes are in flight and gives it back
 * as soon as it is empty, so idle connections hold no pipe and the pool's
 * cap bounds the kernel memory kept in spare pipes.
 */
#ifndef TUNNEL_PIPE_H
#define TUNNEL_PIPE_H

#include <stddef.h>

struct pipe_pool;

/*
 * A pool that keeps at most max_idle spare pipes, each resized to size
 * bytes with F_SETPIPE_SZ when size > 0 (probed once; the kernel default
 * stays if the resize is refused). Return: the pool or NULL.
 */
struct pipe_pool *pipe_pool_new(size_t max_idle, int size);

/*
 * How many spare pipes (two descriptors each) a process should keep: at
 * most max, and at most 1/64 of its descriptor limit, so a process run
 * with a low `ulimit -n` does not spend its budget on spares. At least 1.
 */
size_t	pipe_spares_for_limit(size_t max);

/* Closes the spare pipes (when descriptors run out). */
void	pipe_pool_trim(struct pipe_pool *p);

/* Closes every spare pipe and frees p. */
void	pipe_pool_free(struct pipe_pool *p);

/*
 * Takes a spare pipe or makes one (pipe2 O_NONBLOCK|O_CLOEXEC).
 * Return: 0 with fds[0] the read end and fds[1] the write end, or -1 with
 * errno set (EMFILE/ENFILE when out of descriptors).
 */
int	pipe_get(struct pipe_pool *p, int fds[2]);

/* Returns an EMPTY pipe to the pool (closed if the pool is full). */
void	pipe_put(struct pipe_pool *p, int fds[2]);

/*
 * Empties a pipe holding n unwanted bytes into /dev/null (splice: they
 * are never copied) and returns it to the pool; closes it if that fails.
 */
void	pipe_drop(struct pipe_pool *p, int fds[2], size_t n);

/* Closes a pipe that holds bytes or saw an error: never reused. */
void	pipe_kill(struct pipe_pool *p, int fds[2]);

/* Capacity in bytes of the pool's pipes. */
size_t	pipe_capacity(const struct pipe_pool *p);

/* Pipes currently lent out, and spare pipes held. */
size_t	pipe_in_use(const struct pipe_pool *p);
size_t	pipe_spare(const struct pipe_pool *p);

#endif
