/*
 * Replays the fuzzing corpus and the saved crashers through the libFuzzer
 * harnesses of tests/fuzz/, without libFuzzer or clang: built and run by
 * `make test` (and `make asan`, `make valgrind`) like every unit test, and
 * by `make fuzz-replay`.
 *
 * For each harness every file of tests/fuzz/corpus/<harness>/ and every
 * tests/fuzz/crashers/<harness>-* runs through it, plus the empty input,
 * in a child process; one "PASS"/"FAIL fuzz_replay_<harness>" line per
 * harness. A harness aborts on a broken invariant and the sanitizers
 * abort on memory errors, so a child that does not exit 0 is a FAIL,
 * reported with the input that was running. Each input is an exact-size
 * heap copy, as under libFuzzer, so ASan sees reads past its end.
 *
 *   test_fuzz_replay                       the whole replay
 *   test_fuzz_replay fuzz_login FILE...    only these files, in-process
 *
 * FUZZ_DIR overrides the directory (default tests/fuzz, relative to the
 * top of the tree, where tests/run.sh runs this).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each harness's entry point under its own name. */
#define LLVMFuzzerTestOneInput fuzz_proto_one
#include "../fuzz/fuzz_proto.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_login_one
#include "../fuzz/fuzz_login.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_front_one
#include "../fuzz/fuzz_front.c"
#undef LLVMFuzzerTestOneInput

#define REPLAY_TIMEOUT_S	120	/* per harness; valgrind is slow */
#define REPLAY_MAX_FILES	10000

static const struct harness {
	const char	*name;
	int		(*fn)(const uint8_t *, size_t);
} harnesses[] = {
	{ "fuzz_proto", fuzz_proto_one },
	{ "fuzz_login", fuzz_login_one },
	{ "fuzz_config", fuzz_config_one },
	{ "fuzz_front", fuzz_front_one },
};
#define NHARNESSES	(sizeof(harnesses) / sizeof(harnesses[0]))

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Appends to files[] the regular files of dir whose name starts with
 * prefix (NULL: all but dot files). Return: the new count.
 */
static size_t
list_dir(const char *dir, const char *prefix, char **files, size_t n)
{
	struct dirent *de;
	DIR *d;
	char *path;
	size_t len;

	if ((d = opendir(dir)) == NULL)
		return n;
	while ((de = readdir(d)) != NULL && n < REPLAY_MAX_FILES) {
		if (de->d_name[0] == '.')
			continue;
		if (prefix != NULL && strncmp(de->d_name, prefix,
		    strlen(prefix)) != 0)
			continue;
		len = strlen(dir) + 1 + strlen(de->d_name) + 1;
		if ((path = malloc(len)) == NULL)
			abort();
		(void)snprintf(path, len, "%s/%s", dir, de->d_name);
		files[n++] = path;
	}
	(void)closedir(d);
	return n;
}

/* Runs one file through fn. Return: 0, or -1 if it cannot be read. */
static int
run_file(const struct harness *h, const char *path)
{
	uint8_t *buf, empty;
	long size;
	FILE *f;
	int r = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size);
		if (buf == NULL && size == 0)
			buf = &empty;
		if (buf != NULL &&
		    fread(buf, 1, (size_t)size, f) == (size_t)size) {
			(void)h->fn(buf, (size_t)size);
			r = 0;
		}
		if (buf != &empty)
			free(buf);
	}
	(void)fclose(f);
	if (r == -1)
		(void)fprintf(stderr, "%s: cannot read\n", path);
	return r;
}

/* The child: every file, announcing each on fd before it runs. */
static void
child(const struct harness *h, char **files, size_t n, int fd)
{
	uint8_t *empty;
	size_t i, len;
	char line[1100];

	(void)alarm(REPLAY_TIMEOUT_S);
	if ((empty = malloc(1)) == NULL)
		abort();
	(void)h->fn(empty, 0);
	free(empty);
	for (i = 0; i < n; i++) {
		len = (size_t)snprintf(line, sizeof(line), "%s\n", files[i]);
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		if (write(fd, line, len) != (ssize_t)len)
			_exit(98);
		if (run_file(h, files[i]) == -1)
			_exit(97);
	}
	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
	/* LeakSanitizer reports at exit; say so if it does. */
	if (write(fd, "the exit (leak check)\n", 22) != 22)
		_exit(98);
	exit(0);
}

/* Return: 0 when every input of h passed. */
static int
replay(const struct harness *h, const char *top)
{
	char dir[1024], prefix[64], buf[4096], cur[1100];
	char last[1100] = "the empty input";
	char **files;
	size_t n, i, clen = 0;
	ssize_t got;
	pid_t pid;
	int pfd[2], status, ok;

	if ((files = calloc(REPLAY_MAX_FILES, sizeof(*files))) == NULL)
		abort();
	(void)snprintf(dir, sizeof(dir), "%s/corpus/%s", top, h->name);
	n = list_dir(dir, NULL, files, 0);
	if (n == 0) {
		(void)fprintf(stderr, "%s: no corpus files in %s\n", h->name,
		    dir);
		free(files);
		return -1;
	}
	(void)snprintf(dir, sizeof(dir), "%s/crashers", top);
	(void)snprintf(prefix, sizeof(prefix), "%s-", h->name);
	n = list_dir(dir, prefix, files, n);
	qsort(files, n, sizeof(*files), cmp_str);

	(void)fflush(NULL);
	if (pipe(pfd) == -1 || (pid = fork()) == -1) {
		perror("pipe/fork");
		abort();
	}
	if (pid == 0) {
		(void)close(pfd[0]);
		child(h, files, n, pfd[1]);
	}
	(void)close(pfd[1]);
	/* Keep the last announced file: the one running if it dies. */
	while ((got = read(pfd[0], buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)got; i++) {
			if (buf[i] == '\n') {
				cur[clen] = '\0';
				memcpy(last, cur, clen + 1);
				clen = 0;
			} else if (clen + 1 < sizeof(cur)) {
				cur[clen++] = buf[i];
			}
		}
	}
	(void)close(pfd[0]);
	while (waitpid(pid, &status, 0) == -1)
		;
	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok) {
		if (WIFSIGNALED(status))
			(void)fprintf(stderr, "%s: killed by signal %d (%s) "
			    "on %s\n", h->name, WTERMSIG(status),
			    WTERMSIG(status) == SIGALRM ? "timeout" :
			    strsignal(WTERMSIG(status)), last);
		else
			(void)fprintf(stderr, "%s: exit %d on %s\n", h->name,
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			    last);
	}
	printf("%s fuzz_replay_%s (%zu inputs)\n", ok ? "PASS" : "FAIL",
	    h->name + strlen("fuzz_"), n + 1);
	(void)fflush(stdout);
	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *top = getenv("FUZZ_DIR");
	size_t i;
	int failed = 0, j;

	if (top == NULL || top[0] == '\0')
		top = "tests/fuzz";
	if (argc > 1) {
		for (i = 0; i < NHARNESSES; i++)
			if (strcmp(argv[1], harnesses[i].name) == 0)
				break;
		if (i == NHARNESSES) {
			(void)fprintf(stderr, "usage: %s [fuzz_proto|"
			    "fuzz_login|fuzz_config FILE...]\n", argv[0]);
			return 2;
		}
		for (j = 2; j < argc; j++) {
			(void)fprintf(stderr, "%s %s\n", argv[1], argv[j]);
			if (run_file(&harnesses[i], argv[j]) == -1)
				failed = 1;
		}
		return failed;
	}
	for (i = 0; i < NHARNESSES; i++)
		if (replay(&harnesses[i], top) == -1)
			failed = 1;
	return failed;
}
