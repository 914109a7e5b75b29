/*
 * acme_main: tunnel-acme, run by tunnel-server for one certificate order
 * at a time (server_acme.c). Its stdin brings the job as "key value"
 * lines ended by an empty line; its stdout carries lines back:
 *
 *	log LEVEL TEXT			a line for the server's log
 *	http-01 TOKEN KEYAUTH		serve KEYAUTH at the token's path
 *					on http_port (RFC 8555 8.3)
 *	tls-alpn-01 TOKEN KEYAUTH	answer acme-tls/1 handshakes for the
 *					name on https_port (RFC 8737)
 *					... and either way the server says
 *					"ready" on stdin once it does
 *	done				the certificate is stored at "out"
 *	fail transient|refused SECS TEXT
 *					why not, how soon to try again, and
 *					the seconds the CA asked to wait (0:
 *					it did not say)
 *
 * The server reads these without ever waiting; this process may block
 * as long as it likes, within the alarm set here, and the server kills
 * it if it outlives its own deadline. Text never carries a newline.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme.h"

#define ACME_HELPER_SECS	600	/* the whole order, at most */

/* One line to the server, with control characters made spaces. */
static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	(void)printf("%s\n", line);
	(void)fflush(stdout);
}

static void
log_line(const char *level, const char *fmt, ...)
{
	char text[1536];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	say("log %s %s", level, text);
}

static int
publish(const char *type, const char *token, const char *keyauth)
{
	char line[64];

	say("%s %s %s", type, token, keyauth);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return -1;
	/* "refused": the server would not serve it; fail now, not at the
	 * alarm. */
	return strcmp(line, "ready\n") == 0 ? 0 : -1;
}

/* Sets job field key to value. Return: 0, or -1 for an unknown key. */
static int
job_set(struct acme_job *job, const char *key, const char *value)
{
	static const struct {
		const char	*key;
		size_t		 off, len;
	} keys[] = {
#define K(k, f) { k, offsetof(struct acme_job, f), \
		    sizeof(((struct acme_job *)0)->f) }
		K("directory", directory), K("ca_file", ca_file),
		K("email", email), K("account_key", account_key),
		K("name", name), K("out", out), K("challenge", challenge),
#undef K
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].key, key) != 0)
			continue;
		if (strlen(value) >= keys[i].len)
			return -1;
		memcpy((char *)job + keys[i].off, value, strlen(value) + 1);
		return 0;
	}
	return -1;
}

/* Reads the job's lines up to the empty one. Return: 0, or -1. */
static int
job_read(struct acme_job *job, char *err, size_t errlen)
{
	char line[ACME_URL_MAX + 32], *sp;
	size_t n;

	memset(job, 0, sizeof(*job));
	while (fgets(line, sizeof(line), stdin) != NULL) {
		n = strlen(line);
		if (n == 0 || line[n - 1] != '\n') {
			(void)snprintf(err, errlen, "a job line too long");
			return -1;
		}
		line[--n] = '\0';
		if (n == 0) {
			if (job->directory[0] == '\0' || job->name[0] == '\0' ||
			    job->account_key[0] == '\0' || job->out[0] == '\0' ||
			    (strcmp(job->challenge, "http-01") != 0 &&
			    strcmp(job->challenge, "tls-alpn-01") != 0)) {
				(void)snprintf(err, errlen, "the job lacks "
				    "directory, name, account_key, out or "
				    "challenge");
				return -1;
			}
			return 0;
		}
		if ((sp = strchr(line, ' ')) == NULL ||
		    job_set(job, line, (*sp = '\0', sp + 1)) == -1) {
			(void)snprintf(err, errlen, "a bad job line: %.200s", line);
			return -1;
		}
	}
	(void)snprintf(err, errlen, "the job ended early");
	return -1;
}

int
main(int argc, char **argv)
{
	struct acme_io io = { log_line, publish };
	struct acme_job job;
	char err[ACME_ERR_MAX];
	enum acme_fail f;
	unsigned int wait;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		(void)printf("tunnel-acme %s\n", TUNNEL_VERSION);
		return 0;
	}
	if (argc != 1 || isatty(STDIN_FILENO)) {
		(void)fprintf(stderr, "tunnel-acme gets certificates for "
		    "tunnel-server, which runs it; it is not run by hand "
		    "(see acme: in tunnel-server(8))\n");
		return 2;
	}
	/* A hung CA cannot keep this process, whatever the server does. */
	(void)alarm(ACME_HELPER_SECS);
	(void)signal(SIGPIPE, SIG_IGN);
	if (job_read(&job, err, sizeof(err)) == -1) {
		say("fail refused 0 %s", err);
		return 1;
	}
	if (acme_http_init(job.ca_file) == -1) {
		say("fail transient 0 cannot start libcurl");
		return 1;
	}
	f = acme_order(&job, &io, &wait, err, sizeof(err));
	if (f == ACME_OK) {
		say("done");
		return 0;
	}
	say("fail %s %u %s", f == ACME_REFUSED ? "refused" : "transient", wait,
	    err);
	return 1;
}
