/*
 * libFuzzer harness for the configuration loader (src/config.c).
 *
 * Each input is loaded as a server file (cfg_server_load_mem) and as a
 * client file (cfg_client_load_mem), and checked against config.h's
 * contract: on success every field is in its documented range (ports,
 * pool, timeouts, 1..CFG_MAX_USERS users with valid, distinct names and
 * distinct own ports, a known log level); on failure err holds
 * "name:..." and errno is set, and the struct holds only the defaults.
 * The client file is loaded a second time into the loaded struct (the
 * loader frees what it replaces) and must give the same result. The
 * input's first line also goes through cfg_split_hostport(). Everything
 * is freed, so LeakSanitizer sees any leak on any path.
 *
 * Keeping iterations fast. The server loader test-hashes every password
 * that looks like a crypt(3) hash (auth_setting_from_hash, one crypt(3)
 * each). yescrypt, gost-yescrypt, scrypt, bcrypt, sha1crypt and Sun MD5
 * cost 10-200 ms at their usual parameters and far more at fuzzed ones
 * ("$2b$31$", "$6$rounds=999999999$" take minutes), which would stall the
 * fuzzer and turn slow units into false timeouts. So the harness
 *   - takes at most FC_MAX_INPUT (64 KiB) bytes, and
 *   - skips (returns -1, so libFuzzer keeps it out of the corpus) an
 *     input in which any YAML scalar, as libyaml decodes it, looks like a
 *     hash (auth_looks_like_hash, the loader's own test) that would reach
 *     crypt(3), unless it is of a cheap kind: md5crypt "$1$", sha256/512
 *     crypt "$5$"/"$6$" with at most 9999 rounds, bcrypt at cost 04 (a
 *     few milliseconds at most; see fc_slow_hash). Hashes the loader
 *     refuses before crypt(3) (truncated, too long) are all kept.
 * A plain byte search for "$2", "$y$", "$7$", "$gy$", "$sha1", "$md5"
 * would not do: a double-quoted YAML scalar spells '$' as "\x24" or
 * "\u0024", or splits "$y$" over an escaped line break. Inputs without a
 * '$' or a '\' skip the scan: no scalar of theirs can hold a '$'.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "auth.h"
#include "config.h"
#include "fuzz_common.h"
#include "proto.h"

#define FC_MAX_INPUT	(64 * 1024)
#define FC_NAME		"fuzz.yaml"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * True when auth_setting_from_hash() gets as far as crypt(3) on s: it
 * returns early for a hash of 256 or more bytes, a bcrypt hash that is
 * not 60 bytes, fewer than three '$', or a setting over PROTO_MAX_SETTING.
 * Those early refusals are cheap and worth fuzzing. (A copy of its tests;
 * should the two drift apart the cost is only speed.)
 */
static int
fc_reaches_crypt(const char *s)
{
	const char *p;
	size_t n = strlen(s), dollars = 0;

	if (n >= AUTH_HASH_MAX)
		return 0;
	if (s[1] == '2')
		return n == 60;
	for (p = s; (p = strchr(p, '$')) != NULL; p++)
		dollars++;
	if (dollars < 3)
		return 0;
	return (size_t)(strrchr(s, '$') - s) <= PROTO_MAX_SETTING;
}

/*
 * True when the loader would spend a slow crypt(3) on the scalar s. Cheap
 * enough to keep: md5crypt, sha256/512crypt at the default or at most
 * 9999 rounds, bcrypt at cost 04.
 */
static int
fc_slow_hash(const char *s)
{
	size_t d;

	if (!auth_looks_like_hash(s) || !fc_reaches_crypt(s))
		return 0;
	if (strncmp(s, "$1$", 3) == 0)
		return 0;
	if (strncmp(s, "$5$", 3) == 0 || strncmp(s, "$6$", 3) == 0) {
		if (strncmp(s + 3, "rounds=", 7) != 0)
			return 0;
		d = strspn(s + 10, "0123456789");
		return !(d >= 1 && d <= 4 && s[10 + d] == '$');
	}
	if (strncmp(s, "$2", 2) == 0 && strncmp(s + 3, "$04$", 4) == 0)
		return 0;
	return 1;
}

/* True when some scalar of the document is a slow hash (see above). */
static int
fc_too_slow(const uint8_t *data, size_t size)
{
	yaml_parser_t p;
	yaml_event_t ev;
	char *s;
	int done = 0, slow = 0;

	if (memchr(data, '$', size) == NULL && memchr(data, '\\', size) ==
	    NULL)
		return 0;
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, data, size);
	while (!done && !slow) {
		if (!yaml_parser_parse(&p, &ev))
			break;	/* the loader stops at the same error */
		if (ev.type == YAML_STREAM_END_EVENT)
			done = 1;
		if (ev.type == YAML_SCALAR_EVENT &&
		    memchr(ev.data.scalar.value, '$',
		    ev.data.scalar.length) != NULL) {
			/* The loader refuses NULs, so C strings suffice. */
			if ((s = strndup((const char *)ev.data.scalar.value,
			    ev.data.scalar.length)) == NULL)
				abort();
			slow = fc_slow_hash(s);
			free(s);
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return slow;
}

static int
fc_level_ok(const char *s)
{
	return s != NULL && (strcmp(s, "error") == 0 ||
	    strcmp(s, "warn") == 0 || strcmp(s, "info") == 0 ||
	    strcmp(s, "debug") == 0);
}

static int
fc_username_ok(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > PROTO_MAX_USER)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
fc_str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A failed load: the message names the file, c holds the defaults. */
static void
fc_check_error(const char *err, int errnum)
{
	FUZZ_CHECK(strncmp(err, FC_NAME ":", strlen(FC_NAME) + 1) == 0);
	FUZZ_CHECK(strlen(err) > strlen(FC_NAME) + 2);
	FUZZ_CHECK(errnum != 0);
}

static void
fc_server(const char *buf, size_t len)
{
	struct cfg_server c, def;
	const struct cfg_user *u;
	char err[512];
	size_t i, j, k;
	int r;

	cfg_server_init(&c);
	memset(err, 'x', sizeof(err));
	errno = 0;
	r = cfg_server_load_mem(FC_NAME, buf, len, &c, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (r != 0) {
		FUZZ_CHECK(r == -1);
		fc_check_error(err, errno);
		cfg_server_init(&def);
		FUZZ_CHECK(c.port == def.port && c.pool_size == def.pool_size &&
		    c.connect_timeout == def.connect_timeout &&
		    c.idle_timeout == def.idle_timeout &&
		    c.log_enable == def.log_enable && c.nusers == 0 &&
		    c.users == NULL && c.path == NULL &&
		    fc_str_eq(c.log_path, def.log_path) &&
		    fc_str_eq(c.log_level, def.log_level));
		cfg_server_free(&def);
		cfg_server_free(&c);
		return;
	}
	FUZZ_CHECK(err[0] == '\0');
	FUZZ_CHECK(c.path != NULL && strcmp(c.path, FC_NAME) == 0);
	FUZZ_CHECK(c.port >= 1 && c.port <= 65535);
	FUZZ_CHECK(c.pool_size >= 1 && c.pool_size <= PROTO_MAX_POOL);
	FUZZ_CHECK(c.connect_timeout >= 1 && c.connect_timeout <= 3600);
	FUZZ_CHECK(c.idle_timeout >= 0 && c.idle_timeout <= 604800);
	FUZZ_CHECK(c.log_enable == 0 || c.log_enable == 1);
	FUZZ_CHECK(c.log_path != NULL && c.log_path[0] != '\0');
	FUZZ_CHECK(fc_level_ok(c.log_level));
	FUZZ_CHECK(c.nusers >= 1 && c.nusers <= CFG_MAX_USERS &&
	    c.users != NULL);
	/* The front: a domain and a port of its own, or neither. */
	FUZZ_CHECK((c.domain == NULL) ==
	    (c.http_port == 0 && c.https_port == 0));
	FUZZ_CHECK(c.http_port >= 0 && c.http_port <= 65535 &&
	    (c.http_port == 0 || c.http_port != c.port));
	FUZZ_CHECK(c.https_port >= 0 && c.https_port <= 65535 &&
	    (c.https_port == 0 || (c.https_port != c.port &&
	    c.https_port != c.http_port)));
	/* acme: on https_port, an https directory, a challenge it can use. */
	if (c.acme_on) {
		FUZZ_CHECK(c.https_port != 0);
		FUZZ_CHECK(c.acme.directory != NULL &&
		    strncmp(c.acme.directory, "https://", 8) == 0);
		FUZZ_CHECK(c.acme.challenge == CFG_ACME_TLS_ALPN_01 ||
		    (c.acme.challenge == CFG_ACME_HTTP_01 && c.http_port != 0));
		FUZZ_CHECK(c.acme.email == NULL ||
		    strchr(c.acme.email, '\n') == NULL);
	} else
		FUZZ_CHECK(c.acme.challenge == 0);
	for (i = 0; i < c.nusers; i++) {
		u = &c.users[i];
		FUZZ_CHECK(fc_username_ok(u->username));
		FUZZ_CHECK(u->password != NULL && u->password[0] != '\0');
		FUZZ_CHECK(u->is_plaintext == !auth_looks_like_hash(
		    u->password));
		FUZZ_CHECK(u->port == 0 || (u->port >= 1 && u->port <= 65535 &&
		    u->port != c.port));
		FUZZ_CHECK(u->line >= 1);
		FUZZ_CHECK(u->nhosts <= CFG_MAX_HOSTS);
		for (k = 0; k < u->nhosts; k++) {
			/* Full names (a bare label went under domain), or
			 * one label written with a final dot. */
			FUZZ_CHECK(u->hosts[k][0] != '\0');
			FUZZ_CHECK(strspn(u->hosts[k], "abcdefghijklmnopqrstuvwxyz"
			    "0123456789-.") == strlen(u->hosts[k]));
		}
		for (j = 0; j < i; j++) {
			FUZZ_CHECK(strcmp(u->username,
			    c.users[j].username) != 0);
			FUZZ_CHECK(u->port == 0 || u->port != c.users[j].port);
		}
	}
	cfg_server_free(&c);
}

static void
fc_client_check_ok(const struct cfg_client *c)
{
	char host[256];
	size_t i, j;
	int port;

	FUZZ_CHECK(c->path != NULL && strcmp(c->path, FC_NAME) == 0);
	FUZZ_CHECK(c->server_addr != NULL &&
	    cfg_split_hostport(c->server_addr, host, sizeof(host), &port) ==
	    0);
	FUZZ_CHECK(c->local_host != NULL && c->local_host[0] != '\0');
	FUZZ_CHECK((c->local_port == 0 && c->nservices > 0) ||
	    (c->local_port >= 1 && c->local_port <= 65535));
	FUZZ_CHECK(c->nservices <= CFG_MAX_HOSTS);
	for (i = 0; i < c->nservices; i++) {
		const struct cfg_service *sv = &c->services[i];

		FUZZ_CHECK(sv->host != NULL && sv->host[0] != '\0');
		FUZZ_CHECK(strspn(sv->host, "abcdefghijklmnopqrstuvwxyz"
		    "0123456789-.") == strlen(sv->host));
		FUZZ_CHECK(sv->local_host != NULL);
		FUZZ_CHECK(sv->local_port >= 1 && sv->local_port <= 65535);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(sv->host, c->services[j].host) != 0);
	}
	FUZZ_CHECK(c->connect_timeout >= 1 && c->connect_timeout <= 3600);
	FUZZ_CHECK(fc_username_ok(c->username));
	FUZZ_CHECK(c->password != NULL && c->password[0] != '\0');
	FUZZ_CHECK(fc_level_ok(c->log_level));
}

static void
fc_client(const char *buf, size_t len)
{
	struct cfg_client c, first, def;
	char err[512], err2[512];
	int r, r2, e;

	cfg_client_init(&c);
	errno = 0;
	r = cfg_client_load_mem(FC_NAME, buf, len, &c, err, sizeof(err));
	e = errno;
	if (r == 0) {
		FUZZ_CHECK(err[0] == '\0');
		fc_client_check_ok(&c);
	} else {
		FUZZ_CHECK(r == -1);
		fc_check_error(err, e);
		cfg_client_init(&def);
		FUZZ_CHECK(c.path == NULL && c.server_addr == NULL &&
		    c.username == NULL && c.password == NULL &&
		    c.local_port == def.local_port &&
		    c.connect_timeout == def.connect_timeout &&
		    fc_str_eq(c.local_host, def.local_host) &&
		    fc_str_eq(c.log_level, def.log_level));
		cfg_client_free(&def);
	}

	/* Loading again over the result: same verdict, same values. */
	first = c;
	first.path = c.path ? strdup(c.path) : NULL;
	first.server_addr = c.server_addr ? strdup(c.server_addr) : NULL;
	first.local_host = c.local_host ? strdup(c.local_host) : NULL;
	first.username = c.username ? strdup(c.username) : NULL;
	first.password = c.password ? strdup(c.password) : NULL;
	first.log_level = c.log_level ? strdup(c.log_level) : NULL;
	/* Not copied: the second load frees them under c. */
	first.server_fingerprint = first.login_setting = NULL;
	first.services = NULL;
	r2 = cfg_client_load_mem(FC_NAME, buf, len, &c, err2, sizeof(err2));
	FUZZ_CHECK(r2 == r && strcmp(err, err2) == 0);
	FUZZ_CHECK(fc_str_eq(c.path, first.path) &&
	    fc_str_eq(c.server_addr, first.server_addr) &&
	    fc_str_eq(c.local_host, first.local_host) &&
	    fc_str_eq(c.username, first.username) &&
	    fc_str_eq(c.password, first.password) &&
	    fc_str_eq(c.log_level, first.log_level) &&
	    c.local_port == first.local_port &&
	    c.nservices == first.nservices &&
	    c.connect_timeout == first.connect_timeout);
	first.nservices = 0;
	cfg_client_free(&first);
	cfg_client_free(&c);
}

/* cfg_split_hostport() on the first line of the input. */
static void
fc_hostport(const char *buf, size_t len)
{
	char line[300], host[256], small[8];
	const char *nl;
	size_t n, hl;
	int port, port2;

	nl = memchr(buf, '\n', len);
	n = nl != NULL ? (size_t)(nl - buf) : len;
	if (n >= sizeof(line))
		return;
	memcpy(line, buf, n);
	line[n] = '\0';
	port = -7;
	if (cfg_split_hostport(line, host, sizeof(host), &port) != 0) {
		FUZZ_CHECK(port == -7);
		return;
	}
	FUZZ_CHECK(port >= 1 && port <= 65535);
	hl = strlen(host);
	FUZZ_CHECK(hl >= 1 && hl < sizeof(host) && hl < n);
	FUZZ_CHECK(strpbrk(host, "[]/ ") == NULL);
	/* A host that does not fit the caller's buffer is refused. */
	port2 = -7;
	FUZZ_CHECK((cfg_split_hostport(line, small, sizeof(small), &port2) ==
	    0) == (hl < sizeof(small)));
	FUZZ_CHECK(port2 == -7 || port2 == port);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FC_MAX_INPUT || fc_too_slow(data, size))
		return -1;	/* not added to the corpus */
	fc_hostport((const char *)data, size);
	fc_server((const char *)data, size);
	fc_client((const char *)data, size);
	return 0;
}
