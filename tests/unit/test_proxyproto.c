/*
 * Unit tests for proxyproto: the exact bytes of version 1 and 2 headers
 * for IPv4, IPv6 and mixed families (as HAProxy's specification spells
 * them), the "unknown" forms for what does not parse, and the refusals.
 * The integration test t_proxy_protocol feeds the same headers to nginx
 * and HAProxy.
 */
#include <stdint.h>
#include <string.h>

#include "proxyproto.h"
#include "test.h"

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static int
test_v1(void)
{
	uint8_t out[PROXYPROTO_MAX];
	char s[PROXYPROTO_MAX + 1];
	int n;

	n = proxyproto_header(PROXYPROTO_V1, "203.0.113.9:37278",
	    "198.51.100.1:443", out, sizeof(out));
	ASSERT(n > 0);
	memcpy(s, out, (size_t)n);
	s[n] = '\0';
	ASSERT_STR_EQ(s, "PROXY TCP4 203.0.113.9 198.51.100.1 37278 443\r\n");

	n = proxyproto_header(PROXYPROTO_V1, "[2001:db8::9]:1",
	    "[2001:db8::1]:65535", out, sizeof(out));
	ASSERT(n > 0);
	memcpy(s, out, (size_t)n);
	s[n] = '\0';
	ASSERT_STR_EQ(s, "PROXY TCP6 2001:db8::9 2001:db8::1 1 65535\r\n");

	/* An IPv4 visitor of a server reached over IPv6 (or the reverse). */
	n = proxyproto_header(PROXYPROTO_V1, "203.0.113.9:80",
	    "[2001:db8::1]:443", out, sizeof(out));
	ASSERT(n > 0);
	memcpy(s, out, (size_t)n);
	s[n] = '\0';
	ASSERT_STR_EQ(s,
	    "PROXY TCP6 ::ffff:203.0.113.9 2001:db8::1 80 443\r\n");

	/* The longest line fits. */
	n = proxyproto_header(PROXYPROTO_V1,
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535",
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", out,
	    sizeof(out));
	ASSERT_EQ(n, 104);

	for (n = 0; n < 8; n++) {
		static const char *const bad[] = {
			"", "?", "example.com:80", "1.2.3.4", "1.2.3.4:",
			"1.2.3.4:65536", "[::1:80", "1.2.3.4:80x",
		};
		int k = proxyproto_header(PROXYPROTO_V1, bad[n],
		    "198.51.100.1:443", out, sizeof(out));

		ASSERT_EQ(k, 15);
		ASSERT_MEM_EQ(out, "PROXY UNKNOWN\r\n", 15);
	}
	return TEST_PASS;
}

static int
test_v2(void)
{
	static const uint8_t want4[] = {
		0x21, 0x11, 0x00, 0x0c,
		203, 0, 113, 9, 198, 51, 100, 1,
		0x91, 0x9e, 0x01, 0xbb,
	};
	static const uint8_t want6[] = {
		0x21, 0x21, 0x00, 0x24,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1,
		0x00, 0x01, 0xff, 0xff,
	};
	uint8_t out[PROXYPROTO_MAX];
	int n;

	n = proxyproto_header(PROXYPROTO_V2, "203.0.113.9:37278",
	    "198.51.100.1:443", out, sizeof(out));
	ASSERT_EQ(n, 28);
	ASSERT_MEM_EQ(out, sig, 12);
	ASSERT_MEM_EQ(out + 12, want4, sizeof(want4));

	n = proxyproto_header(PROXYPROTO_V2, "[2001:db8::9]:1",
	    "127.0.0.1:65535", out, sizeof(out));
	ASSERT_EQ(n, 52);
	ASSERT_MEM_EQ(out, sig, 12);
	ASSERT_MEM_EQ(out + 12, want6, sizeof(want6));

	n = proxyproto_header(PROXYPROTO_V2, "203.0.113.9:37278", "", out,
	    sizeof(out));
	ASSERT_EQ(n, 16);
	ASSERT_MEM_EQ(out, sig, 12);
	ASSERT_EQ(out[12], 0x20);	/* LOCAL: use the connection's own */
	ASSERT_EQ(out[13], 0x00);
	ASSERT_EQ(out[14], 0);
	ASSERT_EQ(out[15], 0);
	return TEST_PASS;
}

static int
test_refusals(void)
{
	uint8_t out[PROXYPROTO_MAX];

	ASSERT_EQ(proxyproto_header(PROXYPROTO_OFF, "1.2.3.4:5", "1.2.3.4:6",
	    out, sizeof(out)), -1);
	ASSERT_EQ(proxyproto_header(3, "1.2.3.4:5", "1.2.3.4:6", out,
	    sizeof(out)), -1);
	ASSERT_EQ(proxyproto_header(PROXYPROTO_V2, "1.2.3.4:5", "1.2.3.4:6",
	    out, PROXYPROTO_MAX - 1), -1);
	ASSERT_STR_EQ(proxyproto_str(PROXYPROTO_V1), "v1");
	ASSERT_STR_EQ(proxyproto_str(PROXYPROTO_V2), "v2");
	ASSERT_STR_EQ(proxyproto_str(PROXYPROTO_OFF), "off");
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "proxyproto_v1", test_v1 },
	{ "proxyproto_v2", test_v2 },
	{ "proxyproto_refusals", test_refusals },
};

TEST_MAIN(tests)
