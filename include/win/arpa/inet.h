/* arpa/inet.h on Windows: Winsock (compat.h). */
#include "compat.h"
