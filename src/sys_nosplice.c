/*
 * sys_nosplice: the splice(2) part of the platform layer where there is
 * no splice (the portable build and Windows): every bridge copies through
 * user space, and the calls that only splicing makes say ENOSYS.
 */
#include <errno.h>

#include "sys.h"

int
sys_can_splice(void)
{
	return 0;
}

ssize_t
sys_splice(int fd_in, int fd_out, size_t len)
{
	(void)fd_in;
	(void)fd_out;
	(void)len;
	errno = ENOSYS;
	return -1;
}

ssize_t
sys_tee(int fd_in, int fd_out, size_t len)
{
	return sys_splice(fd_in, fd_out, len);
}

int
sys_pipe_resize(int fd, int size)
{
	(void)fd;
	(void)size;
	errno = ENOSYS;
	return -1;
}

int
sys_pipe_size(int fd)
{
	(void)fd;
	errno = ENOSYS;
	return -1;
}
