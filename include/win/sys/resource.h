/*
 * sys/resource.h on Windows: the descriptor limit, which Windows does not
 * have for sockets (they are handles); getrlimit() says so.
 */
#ifndef TUNNEL_WIN_SYS_RESOURCE_H
#define TUNNEL_WIN_SYS_RESOURCE_H

#include <errno.h>

typedef unsigned long long	rlim_t;
struct rlimit {
	rlim_t	rlim_cur;
	rlim_t	rlim_max;
};
#define RLIMIT_NOFILE	7
#define RLIM_INFINITY	(~(rlim_t)0)

static inline int
getrlimit(int resource, struct rlimit *rl)
{
	(void)resource;
	(void)rl;
	errno = ENOSYS;
	return -1;
}

#endif
