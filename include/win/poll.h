/* poll.h on Windows: WSAPoll's names (compat.h); sys_poll() calls it. */
#include "compat.h"
