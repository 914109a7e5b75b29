/*
 * A tiny unit-test harness: ASSERT_* macros print both values and
 * file:line and make the current test fail; TEST_MAIN runs a table of
 * {name, fn} and prints one "PASS name" / "FAIL name" line per test, then
 * exits 1 if any failed. tests/run.sh counts those lines.
 */
#ifndef TUNNEL_TEST_H
#define TUNNEL_TEST_H

#include <stdio.h>
#include <string.h>

#define TEST_PASS	0
#define TEST_FAIL	1
#define TEST_SKIP	77

#define ASSERT(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: assertion failed: %s\n",	\
		    __FILE__, __LINE__, #c);				\
		return TEST_FAIL;					\
	}								\
} while (0)

#define ASSERT_EQ(a, b) do {						\
	long long a_ = (long long)(a), b_ = (long long)(b);		\
	if (a_ != b_) {							\
		fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n",	\
		    __FILE__, __LINE__, #a, #b, a_, b_);		\
		return TEST_FAIL;					\
	}								\
} while (0)

#define ASSERT_STR_EQ(a, b) do {					\
	const char *a_ = (a), *b_ = (b);				\
	if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {		\
		fprintf(stderr, "%s:%d: %s == %s: \"%s\" != \"%s\"\n",	\
		    __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",	\
		    b_ ? b_ : "(null)");				\
		return TEST_FAIL;					\
	}								\
} while (0)

#define ASSERT_STR_CONTAINS(hay, needle) do {				\
	const char *h_ = (hay), *n_ = (needle);				\
	if (h_ == NULL || strstr(h_, n_) == NULL) {			\
		fprintf(stderr, "%s:%d: \"%s\" does not contain "	\
		    "\"%s\"\n", __FILE__, __LINE__, h_ ? h_ : "(null)", n_); \
		return TEST_FAIL;					\
	}								\
} while (0)

#define ASSERT_MEM_EQ(a, b, n) do {					\
	if (memcmp((a), (b), (n)) != 0) {				\
		fprintf(stderr, "%s:%d: %s and %s differ\n",		\
		    __FILE__, __LINE__, #a, #b);			\
		return TEST_FAIL;					\
	}								\
} while (0)

struct test {
	const char	*name;
	int		(*fn)(void);
};

#define TEST_MAIN(table) TEST_MAIN_WHEN(table, 1)

/* Runs table where cond holds; elsewhere every test in it is skipped. */
#define TEST_MAIN_WHEN(table, cond)					\
int									\
main(void)								\
{									\
	size_t i, failed = 0;						\
	int run = (cond);						\
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {	\
		int r = run ? table[i].fn() : TEST_SKIP;		\
		printf("%s %s\n", r == TEST_PASS ? "PASS" :		\
		    r == TEST_SKIP ? "SKIP" : "FAIL", table[i].name);	\
		fflush(stdout);						\
		if (r != TEST_PASS && r != TEST_SKIP)			\
			failed++;					\
	}								\
	return failed ? 1 : 0;						\
}

#endif
