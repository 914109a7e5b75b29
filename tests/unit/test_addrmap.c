/*
 * Unit tests for src/addrmap.c: keys (IPv4, IPv4-mapped, IPv6 by /64),
 * the cap, entries freed at zero, growth, and many addresses at once.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>

#include "addrmap.h"
#include "test.h"

static struct sockaddr_storage
sa(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		(void)inet_pton(AF_INET6, ip, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		(void)inet_pton(AF_INET, ip, &a->sin_addr);
	}
	return ss;
}

static int
same_key(const char *x, const char *y)
{
	struct sockaddr_storage a = sa(x), b = sa(y);
	uint8_t ka[ADDRMAP_KEY_LEN], kb[ADDRMAP_KEY_LEN];

	if (addrmap_key(&a, ka) == -1 || addrmap_key(&b, kb) == -1)
		return -1;
	return memcmp(ka, kb, sizeof(ka)) == 0;
}

static int
test_keys(void)
{
	struct sockaddr_storage u;
	uint8_t k[ADDRMAP_KEY_LEN];

	ASSERT_EQ(same_key("127.0.0.1", "127.0.0.1"), 1);
	ASSERT_EQ(same_key("127.0.0.1", "127.0.0.2"), 0);
	ASSERT_EQ(same_key("192.0.2.7", "::ffff:192.0.2.7"), 1);
	/* One /64: the interface part does not count. */
	ASSERT_EQ(same_key("2001:db8:1:2::1", "2001:db8:1:2:ffff:1:2:3"), 1);
	ASSERT_EQ(same_key("2001:db8:1:2::1", "2001:db8:1:3::1"), 0);
	/* An IPv4 address never meets an IPv6 /64. */
	ASSERT_EQ(same_key("0.0.0.1", "::1"), 0);
	memset(&u, 0, sizeof(u));
	u.ss_family = AF_UNIX;
	ASSERT_EQ(addrmap_key(&u, k), -1);
	return TEST_PASS;
}

static int
test_cap(void)
{
	struct addrmap m;
	struct sockaddr_storage a = sa("198.51.100.1"), b = sa("198.51.100.2");
	struct addrmap_entry *e[3], *f;

	addrmap_init(&m, 42);
	ASSERT((e[0] = addrmap_take(&m, &a, 3)) != NULL);
	ASSERT((e[1] = addrmap_take(&m, &a, 3)) != NULL);
	ASSERT((e[2] = addrmap_take(&m, &a, 3)) != NULL);
	ASSERT(e[0] == e[1] && e[1] == e[2]);
	ASSERT_EQ(addrmap_count(e[0]), 3);
	errno = 0;
	ASSERT(addrmap_take(&m, &a, 3) == NULL);
	ASSERT_EQ(errno, EBUSY);
	ASSERT_EQ(addrmap_count(e[0]), 3);
	/* Another address is not affected. */
	ASSERT((f = addrmap_take(&m, &b, 3)) != NULL);
	ASSERT_EQ(m.nentries, 2);
	/* One leaves: one more may come. */
	addrmap_put(&m, e[2]);
	ASSERT((e[2] = addrmap_take(&m, &a, 3)) != NULL);
	addrmap_put(&m, e[0]);
	addrmap_put(&m, e[1]);
	addrmap_put(&m, e[2]);
	ASSERT_EQ(m.nentries, 1);	/* a's entry is gone at zero */
	addrmap_put(&m, f);
	ASSERT_EQ(m.nentries, 0);
	addrmap_put(&m, NULL);
	/* cap 0: no cap. */
	for (int i = 0; i < 5000; i++)
		ASSERT(addrmap_take(&m, &a, 0) != NULL);
	ASSERT_EQ(m.nentries, 1);
	addrmap_free(&m);
	ASSERT_EQ(m.nentries, 0);
	return TEST_PASS;
}

static int
test_many(void)
{
	static struct addrmap_entry *e[20000];
	struct addrmap m;
	char ip[64];
	int i;

	addrmap_init(&m, 7);
	for (i = 0; i < 20000; i++) {
		struct sockaddr_storage a;

		if (i % 2)
			(void)snprintf(ip, sizeof(ip), "127.%d.%d.1", i / 256,
			    i % 256);
		else
			(void)snprintf(ip, sizeof(ip), "2001:db8:%x::9", i);
		a = sa(ip);
		ASSERT((e[i] = addrmap_take(&m, &a, 1)) != NULL);
		ASSERT(addrmap_take(&m, &a, 1) == NULL);
	}
	ASSERT_EQ(m.nentries, 20000);
	ASSERT(m.nbuckets >= 20000);
	for (i = 0; i < 20000; i++)
		addrmap_put(&m, e[i]);
	ASSERT_EQ(m.nentries, 0);
	addrmap_free(&m);
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "addrmap_keys", test_keys },
	{ "addrmap_cap", test_cap },
	{ "addrmap_many", test_many },
};

TEST_MAIN(tests)
