/*
 * Unit tests for src/log.c's batching: while batching, INFO and DEBUG
 * lines wait for log_flush(), a WARN or ERROR line goes out at once after
 * them, a full buffer is written out whole lines first, and stderr and
 * the file always hold the same lines in the same order.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "test.h"

static char	dir[] = "/tmp/tunnel-test-log.XXXXXX";
static char	file[sizeof(dir) + 16];
static char	errfile[sizeof(dir) + 16];

/* The text of path, lines stripped of their timestamp and program. */
static const char *
messages(const char *path)
{
	static char out[65536];
	char line[4096];
	size_t o = 0;
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f == NULL)
		return out;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *m = strstr(line, "t: ");

		m = m != NULL ? m + 3 : line;
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", m);
		if (o >= sizeof(out))
			break;
	}
	(void)fclose(f);
	return out;
}

/* Sends stderr to errfile and the file sink to dir/info.log, both empty. */
static int
setup(int *saved_err)
{
	int fd;

	if (mkdtemp(dir) == NULL && dir[0] == '\0')
		return -1;
	(void)snprintf(file, sizeof(file), "%s/info.log", dir);
	(void)snprintf(errfile, sizeof(errfile), "%s/stderr", dir);
	(void)unlink(file);
	fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1)
		return -1;
	*saved_err = dup(STDERR_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	(void)close(fd);
	log_init("t", LOG_DEBUG);
	return log_open_file(dir);
}

static void
teardown(int saved_err)
{
	log_batch(0);
	log_close();
	(void)dup2(saved_err, STDERR_FILENO);
	(void)close(saved_err);
	(void)unlink(file);
	(void)unlink(errfile);
	(void)rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static int
test_batch_order(void)
{
	int saved;

	ASSERT_EQ(setup(&saved), 0);
	log_batch(1);
	log_info("one");
	log_debug("two");
	ASSERT_STR_EQ(messages(file), "");
	ASSERT_STR_EQ(messages(errfile), "");
	log_warnx("three");
	ASSERT_STR_EQ(messages(file), "one\ntwo\nthree\n");
	log_info("four");
	ASSERT_STR_EQ(messages(file), "one\ntwo\nthree\n");
	log_flush();
	ASSERT_STR_EQ(messages(file), "one\ntwo\nthree\nfour\n");
	log_error("five");
	log_batch(0);
	log_info("six");
	ASSERT_STR_EQ(messages(file), "one\ntwo\nthree\nfour\nfive\nsix\n");
	ASSERT_STR_EQ(messages(errfile), "one\ntwo\nthree\nfour\nfive\nsix\n");
	teardown(saved);
	return TEST_PASS;
}

static int
test_batch_full(void)
{
	char want[65536], pad[200];
	size_t o = 0;
	int saved, i;

	ASSERT_EQ(setup(&saved), 0);
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	log_batch(1);
	/* 200 lines of about 230 bytes: more than the buffer holds. */
	for (i = 0; i < 200; i++) {
		log_info("%03d %s", i, pad);
		o += (size_t)snprintf(want + o, sizeof(want) - o, "%03d %s\n",
		    i, pad);
	}
	/* Some went out already, as whole lines, the oldest first. */
	ASSERT(strlen(messages(file)) > 0);
	ASSERT(strncmp(messages(file), want, strlen(messages(file))) == 0);
	ASSERT(messages(file)[strlen(messages(file)) - 1] == '\n');
	log_flush();
	ASSERT_STR_EQ(messages(file), want);
	ASSERT_STR_EQ(messages(errfile), want);
	teardown(saved);
	return TEST_PASS;
}

static int
test_close_flushes(void)
{
	int saved;

	ASSERT_EQ(setup(&saved), 0);
	log_batch(1);
	log_info("last words");
	log_close();
	ASSERT_STR_EQ(messages(file), "last words\n");
	teardown(saved);
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "log_batch_order", test_batch_order },
	{ "log_batch_full", test_batch_full },
	{ "log_close_flushes", test_close_flushes },
};

TEST_MAIN(tests)
