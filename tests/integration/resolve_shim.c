/*
 * LD_PRELOAD shim for t_client_resolve: getaddrinfo() answers made-up
 * names from $TUNNEL_TEST_HOSTS ("name=addr,addr;name=addr", numeric
 * addresses, in the order given), and hangs, as a resolver whose DNS
 * server never answers does, while the file $TUNNEL_TEST_HANG exists.
 * Other names go to the real getaddrinfo. No network and no root needed.
 */
#include <sys/socket.h>

#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int gai_fn(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);

int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	gai_fn *real = (gai_fn *)dlsym(RTLD_NEXT, "getaddrinfo");
	const char *hosts = getenv("TUNNEL_TEST_HOSTS");
	const char *hang = getenv("TUNNEL_TEST_HANG");
	struct addrinfo h, *head = NULL, **tail = &head, *one;
	char buf[1024], *entry, *save, *addr, *save2, *eq;

	if (hang != NULL)
		while (access(hang, F_OK) == 0)
			(void)sleep(1);
	if (node == NULL || hosts == NULL)
		return real(node, service, hints, res);
	(void)snprintf(buf, sizeof(buf), "%s", hosts);
	for (entry = strtok_r(buf, ";", &save); entry != NULL;
	    entry = strtok_r(NULL, ";", &save)) {
		if ((eq = strchr(entry, '=')) == NULL)
			continue;
		*eq = '\0';
		if (strcmp(entry, node) != 0)
			continue;
		for (addr = strtok_r(eq + 1, ",", &save2); addr != NULL;
		    addr = strtok_r(NULL, ",", &save2)) {
			memset(&h, 0, sizeof(h));
			h.ai_socktype = SOCK_STREAM;
			h.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
			if (real(addr, service, &h, &one) != 0)
				continue;
			*tail = one;
			while (one->ai_next != NULL)
				one = one->ai_next;
			tail = &one->ai_next;
		}
		if (head == NULL)
			return EAI_NONAME;
		*res = head;
		return 0;
	}
	return real(node, service, hints, res);
}
