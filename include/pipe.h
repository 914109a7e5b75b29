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
 * The daemons' pipe size. A bigger pipe moves more per splice() call: on
 * loopback, 1 MiB pipes take the CPU per GB of server plus client from
 * 0.61 to 0.45 s (64 KiB, the kernel default). A pipe holds pages only
 * while bytes are in it; its size bounds what one direction can have in
 * flight between its two sockets.
 */
#define PIPE_SIZE		(1024 * 1024)

/*
 * A pool of pipes resized to size bytes with F_SETPIPE_SZ when size > 0.
 * If size is above fs.pipe-max-size and the kernel refuses it, every pipe
 * keeps the kernel default. A refusal below it means the user's
 * fs.pipe-user-pages-soft budget is spent for now, at start or later:
 * that pipe works but is closed when given back, and the next pipe asks
 * again.
 * It keeps at most max_idle spare pipes, fewer when the descriptor limit
 * is low (1/64 of it: a process run with a low `ulimit -n` must not spend
 * it on spares) or the pipes are big (16 MiB of pipe capacity in all, a
 * quarter of an unprivileged user's default budget), and at least one.
 * Return: the pool or NULL.
 */
struct pipe_pool *pipe_pool_new(size_t max_idle, int size);

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
