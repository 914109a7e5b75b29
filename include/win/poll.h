/* poll.h on Windows: WSAPoll, which takes sockets alone (compat.h). */
#include "compat.h"
#define poll(fds, n, timeout)	WSAPoll((fds), (n), (timeout))
