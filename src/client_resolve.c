/*
 * client_resolve: name lookup, which only the client needs (server_addr
 * and local_host may be names). Kept out of the shared net module so the
 * server never references getaddrinfo and can be linked statically (see
 * the Makefile): glibc's resolver needs its shared NSS modules at run time.
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "client.h"

int
cli_resolve(const char *host, int port, struct sockaddr_storage *out,
    socklen_t *outlen, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char service[16];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	(void)snprintf(service, sizeof(service), "%d", port);
	r = getaddrinfo(host, service, &hints, &res);
	if (r == EAI_BADFLAGS || (r != 0 && res == NULL &&
	    hints.ai_flags & AI_ADDRCONFIG)) {
		/* Loopback-only hosts have no "configured" address family. */
		hints.ai_flags = AI_NUMERICSERV;
		r = getaddrinfo(host, service, &hints, &res);
	}
	if (r != 0) {
		(void)snprintf(err, errlen, "cannot resolve %s: %s", host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*outlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
