/* netinet/in.h on Windows: Winsock (compat.h). */
#include "compat.h"
