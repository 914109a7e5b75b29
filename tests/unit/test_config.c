/*
 * Unit tests of config (src/config.c): the Go original's file and the
 * example files load; every error class is reported at the right
 * "file:line:col:"; hostile documents (billion laughs, deep nesting,
 * special files, oversized files) are refused quickly; what the module
 * writes loads back. Fixtures live in tests/configs/ or inline; the tests
 * run from the top of the tree.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

#define ASSERT_PREFIX(s, p) do {					\
	const char *s_ = (s), *p_ = (p);				\
	if (strncmp(s_, p_, strlen(p_)) != 0) {				\
		fprintf(stderr, "%s:%d: \"%s\" does not start with "	\
		    "\"%s\"\n", __FILE__, __LINE__, s_, p_);		\
		return TEST_FAIL;					\
	}								\
} while (0)

#define CHECK(call) do {						\
	if ((call) != TEST_PASS) {					\
		fprintf(stderr, "%s:%d: from here\n", __FILE__,		\
		    __LINE__);						\
		return TEST_FAIL;					\
	}								\
} while (0)

#define USERS	"users:\n  - username: admin\n    password: pw\n"

static char	err[1024];

/* A fresh yescrypt hash of pw (slow: tens of ms). */
static const char *
make_hash(const char *pw)
{
	static struct crypt_data cd;
	static char out[CRYPT_OUTPUT_SIZE];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h;

	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting,
	    sizeof(setting)) == NULL)
		return NULL;
	memset(&cd, 0, sizeof(cd));
	h = crypt_rn(pw, setting, &cd, sizeof(cd));
	if (h == NULL || h[0] == '*')
		return NULL;
	snprintf(out, sizeof(out), "%s", h);
	return out;
}

static int
is_default_server(const struct cfg_server *c)
{
	ASSERT_EQ(c->port, CFG_DEFAULT_PORT);
	ASSERT_EQ(c->pool_size, CFG_DEFAULT_POOL_SIZE);
	ASSERT_EQ(c->connect_timeout, CFG_DEFAULT_CONNECT_TIMEOUT);
	ASSERT_EQ(c->idle_timeout, 0);
	ASSERT_EQ(c->shutdown_grace, CFG_DEFAULT_SHUTDOWN_GRACE);
	ASSERT(c->users == NULL);
	ASSERT_EQ(c->nusers, 0);
	ASSERT(c->path == NULL);
	ASSERT_EQ(c->log_enable, 0);
	ASSERT_STR_EQ(c->log_path, CFG_DEFAULT_LOG_PATH);
	ASSERT_STR_EQ(c->log_level, "info");
	return TEST_PASS;
}

static int
is_default_client(const struct cfg_client *c)
{
	ASSERT(c->path == NULL);
	ASSERT(c->server_addr == NULL);
	ASSERT_STR_EQ(c->local_host, "127.0.0.1");
	ASSERT_EQ(c->local_port, 8000);
	ASSERT_EQ(c->connect_timeout, CFG_DEFAULT_CLIENT_TIMEOUT);
	ASSERT(c->username == NULL);
	ASSERT(c->password == NULL);
	ASSERT_STR_EQ(c->log_level, "info");
	return TEST_PASS;
}

/* Loads yaml as a server config expecting an error "prefix...word...". */
static int
server_err(const char *yaml, const char *prefix, const char *word)
{
	struct cfg_server c;
	int r;

	cfg_server_init(&c);
	err[0] = '\0';
	errno = 0;
	r = cfg_server_load_mem("t.yaml", yaml, strlen(yaml), &c, err,
	    sizeof(err));
	ASSERT_EQ(r, -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_PREFIX(err, prefix);
	ASSERT_STR_CONTAINS(err, word);
	CHECK(is_default_server(&c));
	cfg_server_free(&c);
	return TEST_PASS;
}

static int
client_err(const char *yaml, const char *prefix, const char *word)
{
	struct cfg_client c;
	int r;

	cfg_client_init(&c);
	err[0] = '\0';
	r = cfg_client_load_mem("c.yaml", yaml, strlen(yaml), &c, err,
	    sizeof(err));
	ASSERT_EQ(r, -1);
	ASSERT_PREFIX(err, prefix);
	ASSERT_STR_CONTAINS(err, word);
	CHECK(is_default_client(&c));
	cfg_client_free(&c);
	return TEST_PASS;
}

static int
server_ok(const char *yaml, struct cfg_server *c)
{
	int r;

	cfg_server_init(c);
	err[0] = '\0';
	r = cfg_server_load_mem("t.yaml", yaml, strlen(yaml), c, err,
	    sizeof(err));
	if (r != 0)
		fprintf(stderr, "unexpected error: %s\n", err);
	ASSERT_EQ(r, 0);
	return TEST_PASS;
}

static int
test_go_original(void)
{
	struct cfg_server c;

	cfg_server_init(&c);
	if (cfg_server_load("tests/configs/go-original.yaml", &c, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return TEST_FAIL;
	}
	ASSERT_STR_EQ(c.path, "tests/configs/go-original.yaml");
	ASSERT_EQ(c.port, 3339);
	ASSERT_EQ(c.pool_size, 20);
	ASSERT_EQ(c.connect_timeout, 60);
	ASSERT_EQ(c.idle_timeout, 0);
	ASSERT_EQ(c.nusers, 1);
	ASSERT_STR_EQ(c.users[0].username, "admin");
	ASSERT_STR_EQ(c.users[0].password, "123456");
	ASSERT_EQ(c.users[0].is_plaintext, 1);
	ASSERT_EQ(c.users[0].port, 0);
	ASSERT_EQ(c.users[0].line, 5);
	ASSERT_EQ(c.log_enable, 1);
	ASSERT_STR_EQ(c.log_path, "logs");
	ASSERT_STR_EQ(c.log_level, "info");
	cfg_server_free(&c);
	return TEST_PASS;
}

/* The same bytes as the seed README, inline, so the fixture cannot drift. */
static int
test_go_original_inline(void)
{
	static const char yaml[] =
	    "port: 3339  # server listen port, default 3339\n"
	    "pool_size: 20  # proxy connection pool size, default 20\n"
	    "connect_timeout: 60 # connection timeout, default 60 seconds\n"
	    "users:\n"
	    "  - username: admin\n"
	    "    password: 123456\n"
	    "log:\n"
	    "  enable: true\n"
	    "  path: logs\n";
	struct cfg_server c;

	CHECK(server_ok(yaml, &c));
	ASSERT_STR_EQ(c.path, "t.yaml");
	ASSERT_EQ(c.nusers, 1);
	ASSERT_STR_EQ(c.users[0].password, "123456");
	ASSERT_EQ(c.users[0].is_plaintext, 1);
	ASSERT_EQ(c.log_enable, 1);
	cfg_server_free(&c);
	return TEST_PASS;
}

static int
test_example_server(void)
{
	static struct crypt_data cd;
	static char buf[CFG_MAX_FILE_SIZE];
	struct cfg_server c;
	const char *h;
	char *at, own[256];
	ssize_t n;
	int fd;

	/* As shipped, its public password is refused, at its line. */
	cfg_server_init(&c);
	ASSERT_EQ(cfg_server_load("tunnel-server-config.yaml.example", &c,
	    err, sizeof(err)), -1);
	ASSERT(strstr(err, "password: this is the example's password "
	    "\"change-me\"") != NULL);
	cfg_server_free(&c);
	/* The constant is the hash of the word, and the file holds it. */
	h = crypt_rn(CFG_EXAMPLE_PASSWORD, CFG_EXAMPLE_HASH, &cd, sizeof(cd));
	ASSERT(h != NULL);
	ASSERT_STR_EQ(h, CFG_EXAMPLE_HASH);
	fd = open("tunnel-server-config.yaml.example", O_RDONLY);
	ASSERT(fd != -1);
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	ASSERT(n > 0);
	buf[n] = '\0';
	at = strstr(buf, CFG_EXAMPLE_HASH);
	ASSERT(at != NULL);
	/* Another password under the same setting: same length, loads. */
	h = crypt_rn("not-the-example", CFG_EXAMPLE_HASH, &cd, sizeof(cd));
	ASSERT(h != NULL && strlen(h) == strlen(CFG_EXAMPLE_HASH));
	(void)snprintf(own, sizeof(own), "%s", h);
	memcpy(at, own, strlen(own));
	cfg_server_init(&c);
	if (cfg_server_load_mem("example", buf, (size_t)n, &c, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return TEST_FAIL;
	}
	ASSERT_EQ(c.port, 3339);
	ASSERT_EQ(c.pool_size, 20);
	ASSERT_EQ(c.connect_timeout, 60);
	ASSERT_EQ(c.idle_timeout, 0);
	ASSERT_EQ(c.visitors_per_address, CFG_DEFAULT_VISITORS_PER_ADDRESS);
	ASSERT_EQ(c.pipe_memory_mb, CFG_DEFAULT_PIPE_MEMORY_MB);
	ASSERT_EQ(c.nusers, 1);
	ASSERT_STR_EQ(c.users[0].username, "admin");
	ASSERT_EQ(c.users[0].is_plaintext, 0);
	ASSERT_STR_EQ(c.users[0].password, own);
	ASSERT_EQ(c.log_enable, 1);
	ASSERT_STR_EQ(c.log_path, "logs");
	ASSERT_STR_EQ(c.log_level, "info");
	cfg_server_free(&c);
	return TEST_PASS;
}

static int
test_example_client(void)
{
	struct cfg_client c;

	cfg_client_init(&c);
	if (cfg_client_load("tunnel-client-config.yaml.example", &c, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return TEST_FAIL;
	}
	ASSERT_STR_EQ(c.server_addr, "tunnel.example.com:3339");
	ASSERT_STR_EQ(c.local_host, "127.0.0.1");
	ASSERT_EQ(c.local_port, 8000);
	ASSERT_EQ(c.connect_timeout, 30);
	ASSERT_STR_EQ(c.username, "admin");
	ASSERT_STR_EQ(c.password, "change-me");
	ASSERT_STR_EQ(c.log_level, "info");
	cfg_client_free(&c);
	return TEST_PASS;
}

static int
test_minimal(void)
{
	struct cfg_server s;
	struct cfg_client c;

	cfg_server_init(&s);
	ASSERT_EQ(cfg_server_load("tests/configs/minimal-server.yaml", &s,
	    err, sizeof(err)), 0);
	ASSERT_EQ(s.port, CFG_DEFAULT_PORT);
	ASSERT_EQ(s.pool_size, CFG_DEFAULT_POOL_SIZE);
	ASSERT_EQ(s.connect_timeout, CFG_DEFAULT_CONNECT_TIMEOUT);
	ASSERT_EQ(s.idle_timeout, 0);
	ASSERT_EQ(s.nusers, 1);
	ASSERT_STR_EQ(s.users[0].username, "alice");
	ASSERT_STR_EQ(s.users[0].password, "secret");
	ASSERT_EQ(s.users[0].line, 2);
	ASSERT_EQ(s.log_enable, 0);
	ASSERT_STR_EQ(s.log_path, "logs");
	ASSERT_STR_EQ(s.log_level, "info");
	cfg_server_free(&s);

	cfg_client_init(&c);
	ASSERT_EQ(cfg_client_load("tests/configs/minimal-client.yaml", &c,
	    err, sizeof(err)), 0);
	ASSERT_STR_EQ(c.server_addr, "example.com:3339");
	ASSERT_STR_EQ(c.local_host, "127.0.0.1");
	ASSERT_EQ(c.local_port, 8000);
	ASSERT_EQ(c.connect_timeout, 30);
	ASSERT_STR_EQ(c.username, "alice");
	ASSERT_STR_EQ(c.password, "secret");
	cfg_client_free(&c);
	return TEST_PASS;
}

static int
test_all_keys(void)
{
	static const char yaml[] =
	    "\xef\xbb\xbf"		/* a BOM is fine */
	    "port: 4000\n"
	    "pool_size: 1000\n"
	    "connect_timeout: 3600\n"
	    "idle_timeout: 604800\n"
	    "log: {enable: On, path: /var/log/tunnel, level: DEBUG}\n"
	    "users:\n"
	    "  - {username: a, password: '1', port: 8080}\n"
	    "  - username: \"b\"\n"
	    "    password: \"two words # not a comment\"\n"
	    "    port: 8081\n"
	    "  - username: c\n"
	    "    password: x\n"
	    "shutdown_grace: 0\n";
	static const char yes[] = USERS "log:\n  enable: yes\n";
	struct cfg_server c;

	CHECK(server_ok(yaml, &c));
	ASSERT_EQ(c.port, 4000);
	ASSERT_EQ(c.pool_size, 1000);
	ASSERT_EQ(c.connect_timeout, 3600);
	ASSERT_EQ(c.idle_timeout, 604800);
	ASSERT_EQ(c.shutdown_grace, 0);
	ASSERT_EQ(c.log_enable, 1);
	ASSERT_STR_EQ(c.log_path, "/var/log/tunnel");
	ASSERT_STR_EQ(c.log_level, "debug");
	ASSERT_EQ(c.nusers, 3);
	ASSERT_STR_EQ(c.users[0].username, "a");
	ASSERT_STR_EQ(c.users[0].password, "1");
	ASSERT_EQ(c.users[0].port, 8080);
	ASSERT_EQ(c.users[0].line, 7);
	ASSERT_STR_EQ(c.users[1].password, "two words # not a comment");
	ASSERT_EQ(c.users[1].port, 8081);
	ASSERT_EQ(c.users[1].line, 8);
	ASSERT_EQ(c.users[2].port, 0);
	cfg_server_free(&c);

	/* Booleans, null log mapping, a second load replacing the first. */
	CHECK(server_ok(USERS "log:\n  enable: NO\n", &c));
	ASSERT_EQ(c.log_enable, 0);
	ASSERT_EQ(cfg_server_load_mem("t.yaml", yes, strlen(yes), &c, err,
	    sizeof(err)), 0);
	ASSERT_EQ(c.log_enable, 1);
	cfg_server_free(&c);
	CHECK(server_ok(USERS "log:\n# enable: true\n", &c));
	ASSERT_EQ(c.log_enable, 0);
	cfg_server_free(&c);
	CHECK(server_ok(USERS "port: '3340'\n", &c));
	ASSERT_EQ(c.port, 3340);
	cfg_server_free(&c);
	return TEST_PASS;
}

static int
test_syntax_error(void)
{
	CHECK(server_err("port: 3339\n  bad: x\n", "t.yaml:2:6: ",
	    "mapping values are not allowed"));
	CHECK(server_err("users: [a, b\nport: 1\n", "t.yaml:2:5: ",
	    "flow sequence"));
	CHECK(server_err("port: \"abc\n", "t.yaml:2:1: ", "quoted scalar"));
	CHECK(server_err("port: 1\n\tpool_size: 2\n", "t.yaml:2:1: ",
	    "tab"));
	/* Invalid UTF-8 and control characters come from the reader. */
	CHECK(server_err(USERS "log:\n  path: l\xff\n", "t.yaml:5:10: ",
	    "UTF-8"));
	/* Columns count characters: a BOM is none, "\xc3\xa9" is one. */
	CHECK(server_err("\xef\xbb\xbf" "port: 1\xff\n", "t.yaml:1:8: ",
	    "UTF-8"));
	CHECK(server_err(USERS "log:\n  path: \xc3\xa9\xe2\x82\xac\xff\n",
	    "t.yaml:5:11: ", "UTF-8"));
	CHECK(server_err("port: 1\x01\n", "t.yaml:1:8: ",
	    "control characters"));
	return TEST_PASS;
}

static int
test_not_a_mapping(void)
{
	CHECK(server_err("- port\n- 3339\n", "t.yaml:1:1: ",
	    "expected a mapping"));
	CHECK(server_err("hello\n", "t.yaml:1:1: ", "expected a mapping"));
	CHECK(client_err("\n\n  [1, 2]\n", "c.yaml:3:3: ",
	    "expected a mapping"));
	return TEST_PASS;
}

static int
test_empty(void)
{
	CHECK(server_err("", "t.yaml: ", "empty configuration"));
	CHECK(server_err("# only a comment\n\n", "t.yaml: ",
	    "empty configuration"));
	CHECK(server_err("---\n...\n", "t.yaml: ", "empty configuration"));
	CHECK(client_err("~\n", "c.yaml: ", "empty configuration"));
	CHECK(server_err(USERS "---\nport: 1\n", "t.yaml:4:1: ",
	    "only one YAML document"));
	return TEST_PASS;
}

static int
test_unknown_key(void)
{
	struct cfg_server c;

	cfg_server_init(&c);
	ASSERT_EQ(cfg_server_load("tests/configs/bad-typo.yaml", &c, err,
	    sizeof(err)), -1);
	ASSERT_STR_EQ(err, "tests/configs/bad-typo.yaml:2:1: unknown key "
	    "'pool_sise' (did you mean 'pool_size'?)");
	CHECK(is_default_server(&c));
	cfg_server_free(&c);

	CHECK(server_err(USERS "Port: 1\n", "t.yaml:4:1: ",
	    "unknown key 'Port' (did you mean 'port'?)"));
	CHECK(server_err(USERS "conect_timeot: 1\n", "t.yaml:4:1: ",
	    "(did you mean 'connect_timeout'?)"));
	CHECK(server_err(USERS "idletimeout: 1\n", "t.yaml:4:1: ",
	    "did you mean 'idle_timeout'"));
	CHECK(server_err(USERS "frobnicate: 1\n", "t.yaml:4:1: ",
	    "unknown key 'frobnicate'"));
	CHECK(server_err("users:\n  - username: a\n    passwd: b\n",
	    "t.yaml:3:5: ", "unknown key 'passwd' (did you mean "
	    "'password'?)"));
	CHECK(server_err(USERS "log:\n  levle: info\n", "t.yaml:5:3: ",
	    "(did you mean 'level'?)"));
	/* Client keys are not server keys, and the reverse. */
	CHECK(server_err(USERS "server_addr: a:1\n", "t.yaml:4:1: ",
	    "unknown key 'server_addr'"));
	CHECK(client_err("server_addr: a:1\nusername: u\npassword: p\n"
	    "local_prot: 80\n", "c.yaml:4:1: ",
	    "(did you mean 'local_port'?)"));
	/* A key that is not text. */
	CHECK(server_err(USERS "[a]: 1\n", "t.yaml:4:1: ",
	    "expected a key name"));
	/* Control bytes in a key are shown escaped. */
	CHECK(server_err(USERS "\"a\\tb\": 1\n", "t.yaml:4:1: ",
	    "unknown key 'a\\x09b'"));
	if (strlen(err) > 200)
		return TEST_FAIL;
	return TEST_PASS;
}

static int
test_duplicate_key(void)
{
	CHECK(server_err("port: 1\n" USERS "port: 2\n", "t.yaml:5:1: ",
	    "duplicate key 'port' (first at line 1)"));
	CHECK(server_err("users:\n  - username: a\n    password: b\n"
	    "    username: c\n", "t.yaml:4:5: ", "duplicate key 'username'"));
	CHECK(server_err(USERS USERS, "t.yaml:4:1: ",
	    "duplicate key 'users'"));
	CHECK(client_err("server_addr: a:1\nusername: u\npassword: p\n"
	    "password: q\n", "c.yaml:4:1: ", "duplicate key 'password'"));
	return TEST_PASS;
}

static int
test_wrong_type(void)
{
	CHECK(server_err("port: [1]\n" USERS, "t.yaml:1:7: ",
	    "port: expected a number"));
	CHECK(server_err("pool_size: {a: 1}\n" USERS, "t.yaml:1:12: ",
	    "pool_size: expected a number"));
	CHECK(server_err("users: admin\n", "t.yaml:1:8: ",
	    "users: expected a list of users"));
	CHECK(server_err(USERS "log: yes\n", "t.yaml:4:6: ",
	    "log: expected a mapping"));
	CHECK(server_err(USERS "log:\n  enable: [true]\n", "t.yaml:5:11: ",
	    "enable: expected true or false"));
	CHECK(server_err("users:\n  - username: [a]\n    password: b\n",
	    "t.yaml:2:15: ", "username: expected a string"));
	CHECK(server_err("users:\n  - admin\n", "t.yaml:2:5: ",
	    "each entry must be a mapping"));
	CHECK(server_err("users:\n  -\n", "t.yaml:2:4: ",
	    "each entry must be a mapping"));
	CHECK(server_err("users: []\n", "t.yaml:1:8: ",
	    "at least one user"));
	CHECK(client_err("server_addr: [a, 1]\n", "c.yaml:1:14: ",
	    "server_addr: expected a string"));
	return TEST_PASS;
}

static int
test_missing_value(void)
{
	CHECK(server_err("port:\n" USERS, "t.yaml:1:1: ",
	    "port: missing value (expected a number)"));
	CHECK(server_err("users: ~\n", "t.yaml:1:1: ",
	    "users: missing value"));
	CHECK(server_err("users:\n  - username: a\n    password:\n",
	    "t.yaml:3:5: ", "password: missing value"));
	CHECK(server_err("users:\n  - username: a\n    password: \"\"\n",
	    "t.yaml:3:15: ", "password: must not be empty"));
	CHECK(server_err(USERS "log:\n  path: ''\n", "t.yaml:5:9: ",
	    "path: must not be empty"));
	CHECK(client_err("server_addr: a:1\nusername: u\npassword: p\n"
	    "local_host: \"\"\n", "c.yaml:4:13: ", "must not be empty"));
	return TEST_PASS;
}

static int
test_numbers(void)
{
	CHECK(server_err("port: 70000\n" USERS, "t.yaml:1:7: ",
	    "port: 70000 is out of range (1..65535)"));
	CHECK(server_err("port: abc\n" USERS, "t.yaml:1:7: ",
	    "port: 'abc' is not a number"));
	CHECK(server_err("port: 0\n" USERS, "t.yaml:1:7: ",
	    "out of range (1..65535)"));
	CHECK(server_err("port: -1\n" USERS, "t.yaml:1:7: ",
	    "out of range"));
	CHECK(server_err("port: 99999999999999999999999\n" USERS,
	    "t.yaml:1:7: ", "99999999999999999999999 is out of range"));
	CHECK(server_err("port: 12abc\n" USERS, "t.yaml:1:7: ",
	    "not a number"));
	CHECK(server_err("port: 3339.0\n" USERS, "t.yaml:1:7: ",
	    "not a number"));
	CHECK(server_err("port: 0x10\n" USERS, "t.yaml:1:7: ",
	    "not a number"));
	CHECK(server_err("port: ' 80'\n" USERS, "t.yaml:1:7: ",
	    "not a number"));
	CHECK(server_err("pool_size: 1001\n" USERS, "t.yaml:1:12: ",
	    "pool_size: 1001 is out of range (1..1000)"));
	CHECK(server_err("connect_timeout: 0\n" USERS, "t.yaml:1:18: ",
	    "(1..3600)"));
	CHECK(server_err("idle_timeout: 604801\n" USERS, "t.yaml:1:15: ",
	    "(0..604800)"));
	CHECK(server_err("visitors_per_address: -1\n" USERS, "t.yaml:1:23: ",
	    "(0..1000000)"));
	CHECK(server_err("pipe_memory_mb: 0\n" USERS, "t.yaml:1:17: ",
	    "(1..65536)"));
	CHECK(server_err("shutdown_grace: 3601\n" USERS, "t.yaml:1:17: ",
	    "shutdown_grace: 3601 is out of range (0..3600)"));
	CHECK(server_err("shutdown_grace: -1\n" USERS, "t.yaml:1:17: ",
	    "(0..3600)"));
	CHECK(client_err("server_addr: a:1\nusername: u\npassword: p\n"
	    "shutdown_grace: 3601\n", "c.yaml:4:17: ", "(0..3600)"));
	CHECK(server_err("users:\n  - username: a\n    password: b\n"
	    "    port: 65536\n", "t.yaml:4:11: ",
	    "port: 65536 is out of range"));
	CHECK(client_err("server_addr: a:1\nusername: u\npassword: p\n"
	    "local_port: 0\n", "c.yaml:4:13: ", "local_port: 0 is out of"));
	CHECK(client_err("server_addr: a:1\nusername: u\npassword: p\n"
	    "connect_timeout: 3601\n", "c.yaml:4:18: ", "(1..3600)"));
	return TEST_PASS;
}

static int
test_other_values(void)
{
	CHECK(server_err(USERS "log:\n  enable: maybe\n", "t.yaml:5:11: ",
	    "enable: 'maybe' is not true or false"));
	CHECK(server_err(USERS "log:\n  level: verbose\n", "t.yaml:5:10: ",
	    "level: 'verbose' is not one of error, warn, info, debug"));
	CHECK(server_err("users:\n  - username: a b\n    password: b\n",
	    "t.yaml:2:15: ", "printable ASCII"));
	CHECK(server_err("users:\n  - username: \"a\\tb\"\n    password: b\n",
	    "t.yaml:2:15: ", "printable ASCII"));
	CHECK(server_err("users:\n  - username: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\n    password: b\n", "t.yaml:2:15: ", "1 to 64"));
	CHECK(server_err("users:\n  - username: a\n    password: \"a\\0b\"\n",
	    "t.yaml:3:15: ", "NUL"));
	CHECK(client_err("server_addr: example.com\nusername: u\n"
	    "password: p\n", "c.yaml:1:14: ", "is not host:port"));
	CHECK(client_err("server_addr: a:1\nusername: u\npassword: p\n"
	    "log_level: loud\n", "c.yaml:4:12: ", "is not one of"));
	return TEST_PASS;
}

static int
test_aliases(void)
{
	CHECK(server_err("a: &x 1\nport: *x\n", "t.yaml:1:4: ",
	    "anchors"));
	CHECK(server_err(USERS "port: *x\n", "t.yaml:4:7: ",
	    "YAML aliases are not supported"));
	CHECK(server_err(USERS "<<: {port: 1}\n", "t.yaml:4:1: ",
	    "unknown key '<<'"));
	return TEST_PASS;
}

static int
test_billion_laughs(void)
{
	static const char yaml[] =
	    "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
	    "users: *i\n";
	struct timespec t0, t1;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(server_err(yaml, "t.yaml:1:4: ", "not supported"));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ASSERT(secs < 1.0);
	return TEST_PASS;
}

static int
test_deep_nesting(void)
{
	size_t n = 10000;
	char *buf;
	int r;

	buf = malloc(2 * n + 16);
	ASSERT(buf != NULL);
	memcpy(buf, "users: ", 7);
	memset(buf + 7, '[', n);
	buf[7 + n] = '\0';
	r = server_err(buf, "t.yaml:1:", "nesting is too deep");
	/* The same, closed properly. */
	memset(buf + 7 + n, ']', n);
	buf[7 + 2 * n] = '\0';
	if (r == TEST_PASS)
		r = server_err(buf, "t.yaml:1:", "nesting is too deep");
	/* Flow mappings, and a whole MiB of '{'. */
	memset(buf, '{', 2 * n);
	buf[2 * n] = '\0';
	if (r == TEST_PASS)
		r = server_err(buf, "t.yaml:1:", "nesting is too deep");
	free(buf);
	if (r != TEST_PASS)
		return r;
	buf = malloc(CFG_MAX_FILE_SIZE + 1);
	ASSERT(buf != NULL);
	memset(buf, '{', CFG_MAX_FILE_SIZE);
	buf[CFG_MAX_FILE_SIZE] = '\0';
	r = server_err(buf, "t.yaml:1:", "too deep");
	/* Block nesting by indentation. */
	if (r == TEST_PASS) {
		size_t o = 0, j, k;

		for (j = 0; j < 40; j++) {
			for (k = 0; k < j; k++)
				buf[o++] = ' ';
			o += (size_t)sprintf(buf + o, "k%zu:\n", j);
		}
		buf[o] = '\0';
		r = server_err(buf, "t.yaml:33:", "too deep");
	}
	free(buf);
	return r;
}

static int
test_too_many_nodes(void)
{
	size_t n = 150000, i, o;
	char *buf;
	int r;

	/*
	 * Each "1," is a node (CFG_MAX_NODES is 100000): refused in the
	 * prescan, before the loader builds the tree.
	 */
	buf = malloc(2 * n + 32);
	ASSERT(buf != NULL);
	o = (size_t)sprintf(buf, "users: [");
	for (i = 0; i < n; i++) {
		buf[o++] = '1';
		buf[o++] = ',';
	}
	memcpy(buf + o, "1]\n", 4);
	r = server_err(buf, "t.yaml:1:", "too many values");
	free(buf);
	return r;
}

static int
test_too_big_mem(void)
{
	size_t n = CFG_MAX_FILE_SIZE + 1;
	struct cfg_server c;
	char *buf;

	buf = malloc(n);
	ASSERT(buf != NULL);
	memset(buf, '#', n);
	cfg_server_init(&c);
	ASSERT_EQ(cfg_server_load_mem("t.yaml", buf, n, &c, err,
	    sizeof(err)), -1);
	ASSERT_PREFIX(err, "t.yaml: ");
	ASSERT_STR_CONTAINS(err, "larger than");
	free(buf);
	cfg_server_free(&c);
	return TEST_PASS;
}

static int
test_too_many_users(void)
{
	size_t n = CFG_MAX_USERS + 1, i, o = 0;
	char *buf;
	int r;

	buf = malloc(n * 40 + 16);
	ASSERT(buf != NULL);
	o += (size_t)sprintf(buf, "users:\n");
	for (i = 0; i < n; i++)
		o += (size_t)sprintf(buf + o, "  - {username: u%zu, "
		    "password: p}\n", i);
	r = server_err(buf, "t.yaml:2:3: ", "more than 1000 users");
	/* Exactly the maximum loads. */
	if (r == TEST_PASS) {
		struct cfg_server c;

		buf[o - strlen("  - {username: u1000, password: p}\n")] = '\0';
		r = server_ok(buf, &c);
		if (r == TEST_PASS && c.nusers != CFG_MAX_USERS)
			r = TEST_FAIL;
		cfg_server_free(&c);
	}
	free(buf);
	return r;
}

static int
test_missing_required(void)
{
	CHECK(server_err("port: 1\n", "t.yaml:1:1: ",
	    "missing required key 'users'"));
	CHECK(server_err("port: 1\nusers:\n  - username: a\n",
	    "t.yaml:3:5: ", "missing required key 'password'"));
	CHECK(server_err("port: 1\nusers:\n  - username: a\n    password: b\n"
	    "  - {password: c}\n", "t.yaml:5:5: ",
	    "missing required key 'username'"));
	CHECK(client_err("username: u\npassword: p\n", "c.yaml:1:1: ",
	    "missing required key 'server_addr'"));
	CHECK(client_err("server_addr: a:1\npassword: p\n", "c.yaml:1:1: ",
	    "missing required key 'username'"));
	CHECK(client_err("server_addr: a:1\nusername: u\n", "c.yaml:1:1: ",
	    "missing required key 'password'"));
	return TEST_PASS;
}

static int
test_duplicate_username(void)
{
	struct cfg_server c;

	cfg_server_init(&c);
	ASSERT_EQ(cfg_server_load("tests/configs/bad-duplicate-user.yaml",
	    &c, err, sizeof(err)), -1);
	ASSERT_STR_EQ(err, "tests/configs/bad-duplicate-user.yaml:6:15: "
	    "duplicate username 'alice' (first at line 2)");
	CHECK(is_default_server(&c));
	cfg_server_free(&c);
	return TEST_PASS;
}

static int
test_port_clash(void)
{
	struct cfg_server c;

	cfg_server_init(&c);
	ASSERT_EQ(cfg_server_load("tests/configs/bad-port-clash.yaml", &c,
	    err, sizeof(err)), -1);
	ASSERT_STR_EQ(err, "tests/configs/bad-port-clash.yaml:7:11: "
	    "port: 8080 is already the port of user 'alice' (line 4)");
	cfg_server_free(&c);
	/* The main port, given after the users, and the default. */
	CHECK(server_err("users:\n  - username: a\n    password: b\n"
	    "    port: 9000\nport: 9000\n", "t.yaml:4:11: ",
	    "9000 is already the main port"));
	CHECK(server_err("users:\n  - username: a\n    password: b\n"
	    "    port: 3339\n", "t.yaml:4:11: ", "already the main port"));
	CHECK(server_ok("users:\n  - username: a\n    password: b\n"
	    "    port: 3339\nport: 3340\n", &c));
	ASSERT_EQ(c.users[0].port, 3339);
	cfg_server_free(&c);
	return TEST_PASS;
}

static int
test_password_kinds(void)
{
	struct cfg_server c;
	const char *h;
	char *yaml;

	/* Numbers, and things that are not crypt hashes, are plaintext. */
	CHECK(server_ok("users:\n  - {username: a, password: 123456}\n"
	    "  - {username: b, password: \"$notahash\"}\n"
	    "  - {username: c, password: \"$\"}\n", &c));
	ASSERT_EQ(c.users[0].is_plaintext, 1);
	ASSERT_STR_EQ(c.users[0].password, "123456");
	ASSERT_EQ(c.users[1].is_plaintext, 1);
	ASSERT_EQ(c.users[2].is_plaintext, 1);
	cfg_server_free(&c);

	h = make_hash("change-me");
	ASSERT(h != NULL);
	ASSERT(asprintf(&yaml, "users:\n  - username: a\n    password: "
	    "\"%s\"\n  - username: b\n    password: %s\n", h, h) > 0);
	CHECK(server_ok(yaml, &c));
	free(yaml);
	ASSERT_EQ(c.nusers, 2);
	ASSERT_EQ(c.users[0].is_plaintext, 0);
	ASSERT_STR_EQ(c.users[0].password, h);
	ASSERT_EQ(c.users[1].is_plaintext, 0);
	cfg_server_free(&c);

	/* A hash libxcrypt cannot use is refused at load, where it is. */
	CHECK(server_err("users:\n  - username: a\n"
	    "    password: \"$y$j9T$garbage\"\n",
	    "t.yaml:3:15: ", "password: unusable crypt hash"));
	CHECK(server_err("users:\n  - username: a\n"
	    "    password: $2b$10$short\n",
	    "t.yaml:3:15: ", "unusable crypt hash"));
	/*
	 * So is a working hash outside crypt_policy, before it is probed,
	 * with the way out.
	 */
	CHECK(server_err("users:\n  - username: a\n    password: \""
	    "$2b$04$jvZX289UM4BEXdF2eAHHsurD3EBU1ZHgQNt2qdYve2zjIAVkniok\"\n",
	    "t.yaml:3:15: password: bcrypt cost 4 is too cheap",
	    "make a new hash with tunnel-server --hash-password"));
	CHECK(server_err("users:\n  - username: a\n"
	    "    password: \"$1$tWNwHyO0$K0nLJiIzW3yDNsCmAz1Cz/\"\n",
	    "t.yaml:3:15: password: md5crypt", "--hash-password"));
	CHECK(server_err("users:\n  - username: a\n"
	    "    password: \"$y$jGT$RzEO1z.L6pKTyearY0k4R0$cAovvH/rYGA3rBfNYZVbUknI"
	    "9Zmg\"\n", "t.yaml:3:15: password: yescrypt asks for too much",
	    "--hash-password"));
	return TEST_PASS;
}

static int
test_long_password(void)
{
	char yaml[1200];

	snprintf(yaml, sizeof(yaml), "users:\n  - username: a\n"
	    "    password: %0600d\n", 7);
	CHECK(server_err(yaml, "t.yaml:3:15: ", "longer than 511 bytes"));
	return TEST_PASS;
}

/* A scratch directory, removed with its files by rm_tmpdir(). */
static char *
make_tmpdir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/test_config.XXXXXX");
	return mkdtemp(dir);
}

static void
rm_tmpdir(const char *dir)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (unlink(path) == -1)
				(void)rmdir(path);
		}
		closedir(d);
	}
	(void)rmdir(dir);
}

static size_t
count_entries(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
test_load_files(void)
{
	struct cfg_server c;
	struct cfg_client cc;
	char path[256], *dir, *big;
	struct timespec t0, t1;
	size_t n;
	int fd, r = TEST_FAIL;

	ASSERT((dir = make_tmpdir()) != NULL);
	cfg_server_init(&c);
	cfg_client_init(&cc);

	/* Missing: ENOENT, so that the caller can offer to write one. */
	snprintf(path, sizeof(path), "%s/none.yaml", dir);
	errno = 0;
	if (cfg_server_load(path, &c, err, sizeof(err)) != -1 ||
	    errno != ENOENT || strstr(err, path) != err)
		goto out;
	errno = 0;
	if (cfg_client_load(path, &cc, err, sizeof(err)) != -1 ||
	    errno != ENOENT || strstr(err, "No such file") == NULL)
		goto out;

	/* A directory. */
	errno = 0;
	if (cfg_server_load(dir, &c, err, sizeof(err)) != -1 ||
	    errno != EISDIR || strstr(err, "directory") == NULL) {
		fprintf(stderr, "directory: %s\n", err);
		goto out;
	}

	/* A FIFO with no writer: refused at once, not waited on. */
	snprintf(path, sizeof(path), "%s/fifo.yaml", dir);
	if (mkfifo(path, 0600) == -1)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cfg_server_load(path, &c, err, sizeof(err)) != -1 ||
	    strstr(err, "not a regular file") == NULL) {
		fprintf(stderr, "fifo: %s\n", err);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (t1.tv_sec - t0.tv_sec > 1)
		goto out;

	/* A file over the limit. */
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	n = CFG_MAX_FILE_SIZE + 1;
	if ((big = malloc(n)) == NULL)
		goto out;
	memset(big, '#', n);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, big, n) != (ssize_t)n) {
		free(big);
		goto out;
	}
	close(fd);
	free(big);
	errno = 0;
	if (cfg_server_load(path, &c, err, sizeof(err)) != -1 ||
	    errno != EFBIG || strstr(err, "too large") == NULL) {
		fprintf(stderr, "big: %s\n", err);
		goto out;
	}

	/* Exactly at the limit is fine. */
	if ((big = malloc(CFG_MAX_FILE_SIZE)) == NULL)
		goto out;
	memset(big, '#', CFG_MAX_FILE_SIZE);
	memcpy(big, USERS, strlen(USERS));
	big[CFG_MAX_FILE_SIZE - 1] = '\n';
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd == -1 || write(fd, big, CFG_MAX_FILE_SIZE) !=
	    CFG_MAX_FILE_SIZE) {
		free(big);
		goto out;
	}
	close(fd);
	free(big);
	if (cfg_server_load(path, &c, err, sizeof(err)) != 0 ||
	    c.nusers != 1) {
		fprintf(stderr, "at the limit: %s\n", err);
		goto out;
	}
	r = TEST_PASS;
out:
	cfg_server_free(&c);
	cfg_client_free(&cc);
	rm_tmpdir(dir);
	return r;
}

static int
test_write_default(void)
{
	struct cfg_server c;
	struct stat st;
	char path[256], *dir;
	const char *h;
	int r = TEST_FAIL;

	ASSERT((h = make_hash("s3cret")) != NULL);
	ASSERT((dir = make_tmpdir()) != NULL);
	cfg_server_init(&c);
	snprintf(path, sizeof(path), "%s/tunnel-server-config.yaml", dir);
	if (cfg_server_write_default(path, h, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (stat(path, &st) == -1 || (st.st_mode & 07777) != 0600)
		goto out;
	if (cfg_server_load(path, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (c.port != 3339 || c.pool_size != 20 || c.connect_timeout != 60 ||
	    c.nusers != 1 || strcmp(c.users[0].username, "admin") != 0 ||
	    strcmp(c.users[0].password, h) != 0 || c.users[0].is_plaintext ||
	    !c.log_enable || strcmp(c.log_path, "logs") != 0)
		goto out;
	/* Never replaces a file. */
	errno = 0;
	if (cfg_server_write_default(path, h, err, sizeof(err)) != -1 ||
	    errno != EEXIST || strstr(err, "exists") == NULL) {
		fprintf(stderr, "O_EXCL: %s\n", err);
		goto out;
	}
	/* A hash that would not load is not written. */
	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	if (cfg_server_write_default(path, "$y$j9T$garbage", err,
	    sizeof(err)) != -1 || access(path, F_OK) == 0 ||
	    strstr(err, "unusable") == NULL)
		goto out;
	r = TEST_PASS;
out:
	cfg_server_free(&c);
	rm_tmpdir(dir);
	return r;
}

static int
test_client_roundtrip(void)
{
	static const char *passwords[] = {
	    "pa\"ss\\wo:rd #1",
	    "  leading and trailing  ",
	    "- starts like a list",
	    "&anchor *alias !tag %dir @at `tick` |lit >fold",
	    "{flow: [x]}, 'single' \"double\"",
	    "tab\there nl\nhere cr\rhere \x01\x1f\x7f",
	    "unicode: p\xc3\xa4ss \xe2\x9c\x93 \xf0\x9f\x94\x91 \xe4\xb8\xad",
	    "yaml breaks: \xc2\x85 \xe2\x80\xa8 \xe2\x80\xa9 bom \xef\xbb\xbf",
	    "c1: \xc2\x80 \xc2\x9f nbsp:\xc2\xa0",
	    "null", "~", "true", "123456", "0x10", "",
	};
	static const char *bad_utf8[] = {
	    "overlong quote \xc0\xa2",
	    "overlong nul \xc0\x80",
	    "overlong 3 \xe0\x80\xa2",
	    "overlong 4 \xf0\x80\x80\xa2",
	    "surrogate \xed\xa0\x80",
	    "above U+10FFFF \xf4\x90\x80\x80",
	    "cut short \xe2\x9c",
	};
	struct cfg_client c, back;
	struct stat st;
	char path[256], *dir;
	size_t i;
	int r = TEST_FAIL;

	ASSERT((dir = make_tmpdir()) != NULL);
	snprintf(path, sizeof(path), "%s/client.yaml", dir);
	cfg_client_init(&back);
	for (i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++) {
		cfg_client_init(&c);
		c.server_addr = strdup("[::1]:3339");
		free(c.local_host);
		c.local_host = strdup(" host # with: \"odd\" chars ");
		c.local_port = 65535;
		c.connect_timeout = 1 + (int)i;
		c.username = strdup("u\"s\\e:r#x'");
		c.password = strdup(passwords[i]);
		if (passwords[i][0] == '\0') {
			/* An empty password is refused, and nothing saved. */
			if (cfg_client_save(path, &c, err, sizeof(err)) != -1 ||
			    strstr(err, "must not be empty") == NULL) {
				fprintf(stderr, "empty: %s\n", err);
				goto out;
			}
			cfg_client_free(&c);
			continue;
		}
		if (cfg_client_save(path, &c, err, sizeof(err)) != 0) {
			fprintf(stderr, "save %zu: %s\n", i, err);
			goto out;
		}
		if (stat(path, &st) == -1 || (st.st_mode & 07777) != 0600 ||
		    count_entries(dir) != 1)
			goto out;
		if (cfg_client_load(path, &back, err, sizeof(err)) != 0) {
			fprintf(stderr, "load %zu: %s\n", i, err);
			goto out;
		}
		if (strcmp(back.password, c.password) != 0 ||
		    strcmp(back.username, c.username) != 0 ||
		    strcmp(back.server_addr, c.server_addr) != 0 ||
		    strcmp(back.local_host, c.local_host) != 0 ||
		    back.local_port != c.local_port ||
		    back.connect_timeout != c.connect_timeout ||
		    strcmp(back.log_level, "info") != 0) {
			fprintf(stderr, "round trip %zu: [%s] != [%s]\n", i,
			    back.password, c.password);
			goto out;
		}
		cfg_client_free(&c);
	}
	cfg_client_init(&c);
	/* Invalid UTF-8 cannot round-trip: refused. */
	c.server_addr = strdup("a:1");
	c.username = strdup("u");
	c.password = strdup("latin1 \xe9t\xe9");
	if (cfg_client_save(path, &c, err, sizeof(err)) != -1 ||
	    strstr(err, "UTF-8") == NULL)
		goto out;
	/*
	 * So are overlong forms and surrogates: the writer must not
	 * normalise an overlong '"' into a real one (the saved password
	 * would differ from the one in memory) nor leave it to the reader.
	 */
	for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		free(c.password);
		c.password = strdup(bad_utf8[i]);
		if (cfg_client_save(path, &c, err, sizeof(err)) != -1 ||
		    strstr(err, "password is not valid UTF-8") == NULL) {
			fprintf(stderr, "bad UTF-8 %zu: %s\n", i, err);
			goto out;
		}
	}
	/* Nothing to save without a username. */
	free(c.username);
	c.username = NULL;
	if (cfg_client_save(path, &c, err, sizeof(err)) != -1 ||
	    strstr(err, "username is not set") == NULL)
		goto out;
	/* A directory that does not exist. */
	c.username = strdup("u");
	free(c.password);
	c.password = strdup("p");
	if (cfg_client_save("/nonexistent-dir/x.yaml", &c, err,
	    sizeof(err)) != -1 ||
	    strstr(err, "/nonexistent-dir/x.yaml") == NULL)
		goto out;
	/* The file from the last good save is untouched and alone. */
	if (count_entries(dir) != 1)
		goto out;
	r = TEST_PASS;
out:
	cfg_client_free(&c);
	cfg_client_free(&back);
	rm_tmpdir(dir);
	return r;
}

static int
test_split_hostport(void)
{
	char host[64];
	int port;

	ASSERT_EQ(cfg_split_hostport("a:1", host, sizeof(host), &port), 0);
	ASSERT_STR_EQ(host, "a");
	ASSERT_EQ(port, 1);
	ASSERT_EQ(cfg_split_hostport("[::1]:3339", host, sizeof(host),
	    &port), 0);
	ASSERT_STR_EQ(host, "::1");
	ASSERT_EQ(port, 3339);
	ASSERT_EQ(cfg_split_hostport("[fe80::1%eth0]:80", host, sizeof(host),
	    &port), 0);
	ASSERT_STR_EQ(host, "fe80::1%eth0");
	ASSERT_EQ(cfg_split_hostport("tunnel.example.com:65535", host,
	    sizeof(host), &port), 0);
	ASSERT_STR_EQ(host, "tunnel.example.com");
	ASSERT_EQ(port, 65535);
	ASSERT_EQ(cfg_split_hostport("192.0.2.1:80", host, sizeof(host),
	    &port), 0);
	ASSERT_STR_EQ(host, "192.0.2.1");

	ASSERT_EQ(cfg_split_hostport("::1:80", host, sizeof(host), &port), -1);
	ASSERT_EQ(cfg_split_hostport("host:", host, sizeof(host), &port), -1);
	ASSERT_EQ(cfg_split_hostport("host:0", host, sizeof(host), &port), -1);
	ASSERT_EQ(cfg_split_hostport("host:65536", host, sizeof(host), &port),
	    -1);
	ASSERT_EQ(cfg_split_hostport(":80", host, sizeof(host), &port), -1);
	ASSERT_EQ(cfg_split_hostport("host", host, sizeof(host), &port), -1);
	ASSERT_EQ(cfg_split_hostport("", host, sizeof(host), &port), -1);
	ASSERT_EQ(cfg_split_hostport("[::1]", host, sizeof(host), &port), -1);
	ASSERT_EQ(cfg_split_hostport("[::1]80", host, sizeof(host), &port),
	    -1);
	ASSERT_EQ(cfg_split_hostport("[]:80", host, sizeof(host), &port), -1);
	ASSERT_EQ(cfg_split_hostport("[host]:80", host, sizeof(host), &port),
	    -1);
	ASSERT_EQ(cfg_split_hostport("host:-1", host, sizeof(host), &port),
	    -1);
	ASSERT_EQ(cfg_split_hostport("host:+80", host, sizeof(host), &port),
	    -1);
	ASSERT_EQ(cfg_split_hostport("host:80 ", host, sizeof(host), &port),
	    -1);
	ASSERT_EQ(cfg_split_hostport("ho st:80", host, sizeof(host), &port),
	    -1);
	ASSERT_EQ(cfg_split_hostport("host:0000080", host, sizeof(host),
	    &port), -1);
	ASSERT_EQ(cfg_split_hostport("abcdef:1", host, 6, &port), -1);
	ASSERT_EQ(cfg_split_hostport("abcde:1", host, 6, &port), 0);
	ASSERT_STR_EQ(host, "abcde");
	return TEST_PASS;
}

/* A failed load after a good one leaves defaults, not the old values. */
static int
test_failure_resets(void)
{
	struct cfg_server c;
	struct cfg_client cc;
	static const char bad[] = "port: 1\n" USERS "bogus: 1\n";

	CHECK(server_ok("port: 1\n" USERS, &c));
	ASSERT_EQ(c.port, 1);
	ASSERT_EQ(cfg_server_load_mem("t.yaml", bad, strlen(bad), &c, err,
	    sizeof(err)), -1);
	CHECK(is_default_server(&c));
	cfg_server_free(&c);

	cfg_client_init(&cc);
	ASSERT_EQ(cfg_client_load("tests/configs/minimal-client.yaml", &cc,
	    err, sizeof(err)), 0);
	ASSERT_EQ(cfg_client_load("tests/configs/none.yaml", &cc, err,
	    sizeof(err)), -1);
	CHECK(is_default_client(&cc));
	cfg_client_free(&cc);

	/* A tiny error buffer truncates, never overflows. */
	cfg_server_init(&c);
	{
		char small[8];

		memset(small, 'x', sizeof(small));
		ASSERT_EQ(cfg_server_load_mem("t.yaml", bad, strlen(bad), &c,
		    small, sizeof(small)), -1);
		ASSERT_STR_EQ(small, "t.yaml:");
		ASSERT_EQ(cfg_server_load_mem("t.yaml", bad, strlen(bad), &c,
		    NULL, 0), -1);
	}
	cfg_server_free(&c);
	return TEST_PASS;
}

/* acme: its checks, and https_port served by it alone. */
static int
test_acme_keys(void)
{
	static const char front[] = "domain: a.b\nhttp_port: 80\n"
	    "https_port: 443\n";
	static const char users[] = "users:\n  - {username: a, password: pw}\n";
	struct cfg_server c;
	char y[512];

	(void)snprintf(y, sizeof(y), "%sacme:\n  email: me@a.b\n%s", front,
	    users);
	CHECK(server_ok(y, &c));
	ASSERT_EQ(c.acme_on, 1);
	ASSERT_STR_EQ(c.acme.email, "me@a.b");
	ASSERT_STR_EQ(c.acme.directory, CFG_DEFAULT_ACME_DIRECTORY);
	ASSERT_EQ(c.acme.ca_file == NULL, 1);
	cfg_server_free(&c);
	(void)snprintf(y, sizeof(y), "%sacme: {directory: "
	    "\"https://ca.test/dir\", ca_file: /x/ca.pem}\n%s", front, users);
	CHECK(server_ok(y, &c));
	ASSERT_STR_EQ(c.acme.directory, "https://ca.test/dir");
	ASSERT_STR_EQ(c.acme.ca_file, "/x/ca.pem");
	ASSERT_EQ(c.acme.email == NULL, 1);
	cfg_server_free(&c);
	/* Without acme, nothing of it is on. */
	CHECK(server_ok("domain: a.b\nhttp_port: 80\nusers:\n"
	    "  - {username: a, password: pw}\n", &c));
	ASSERT_EQ(c.acme_on, 0);
	cfg_server_free(&c);
	(void)snprintf(y, sizeof(y), "%sacme: {directory: "
	    "\"http://ca.test/dir\"}\n%s", front, users);
	CHECK(server_err(y, "t.yaml:4:19: ", "is not an https:// URL"));
	(void)snprintf(y, sizeof(y), "%sacme: {email: me}\n%s", front, users);
	CHECK(server_err(y, "t.yaml:4:15: ", "not an e-mail address"));
	(void)snprintf(y, sizeof(y), "%sacme: {email: \"a@b\\nc\"}\n%s",
	    front, users);
	CHECK(server_err(y, "t.yaml:4:15: ", "has a control character"));
	(void)snprintf(y, sizeof(y), "%sacme: {emial: a@b}\n%s", front, users);
	CHECK(server_err(y, "t.yaml:4:8: ", "did you mean 'email'"));
	/* The challenge: HTTP-01 where http_port is, else TLS-ALPN-01. */
	(void)snprintf(y, sizeof(y), "%sacme: {}\n%s", front, users);
	CHECK(server_ok(y, &c));
	ASSERT_EQ(c.acme.challenge, CFG_ACME_HTTP_01);
	cfg_server_free(&c);
	CHECK(server_ok("domain: a.b\nhttps_port: 443\nacme: {}\n"
	    "users:\n  - {username: a, password: pw}\n", &c));
	ASSERT_EQ(c.acme.challenge, CFG_ACME_TLS_ALPN_01);
	cfg_server_free(&c);
	(void)snprintf(y, sizeof(y), "%sacme: {challenge: tls-alpn-01}\n%s",
	    front, users);
	CHECK(server_ok(y, &c));
	ASSERT_EQ(c.acme.challenge, CFG_ACME_TLS_ALPN_01);
	cfg_server_free(&c);
	CHECK(server_err("domain: a.b\nhttps_port: 443\nacme: {challenge: "
	    "http-01}\nusers:\n  - {username: a, password: pw}\n",
	    "t.yaml:3:19: ", "http-01 needs http_port"));
	(void)snprintf(y, sizeof(y), "%sacme: {challenge: dns-01}\n%s",
	    front, users);
	CHECK(server_err(y, "t.yaml:4:19: ", "not http-01 or tls-alpn-01"));
	CHECK(server_err("domain: a.b\nhttp_port: 80\nacme: {}\n"
	    "users:\n  - {username: a, password: pw}\n", "t.yaml:3:7: ",
	    "set https_port too"));
	return 0;
}

/*
 * The front's keys: bare labels go under domain, names are lowercased and
 * held by one user; services make the raw local_port optional.
 */
static int
test_front_keys(void)
{
	struct cfg_server c;
	struct cfg_client k;

	CHECK(server_ok("domain: Tunnel.Example.COM\nhttp_port: 8080\n"
	    "users:\n  - {username: a, password: pw,\n"
	    "     hosts: [Alice, api.Other.org]}\n"
	    "  - {username: b, password: pw}\n", &c));
	ASSERT_STR_EQ(c.domain, "tunnel.example.com");
	ASSERT_EQ(c.http_port, 8080);
	ASSERT_EQ(c.users[0].nhosts, 2);
	ASSERT_STR_EQ(c.users[0].hosts[0], "alice.tunnel.example.com");
	ASSERT_STR_EQ(c.users[0].hosts[1], "api.other.org");
	ASSERT_EQ(c.users[1].nhosts, 0);
	cfg_server_free(&c);
	/* A final dot: a full name as it is, even of one label. */
	CHECK(server_ok("domain: t.example.\nhttp_port: 8080\nusers:\n"
	    "  - {username: a, password: pw, hosts: [Intranet., b.c., d]}\n",
	    &c));
	ASSERT_STR_EQ(c.domain, "t.example");
	ASSERT_STR_EQ(c.users[0].hosts[0], "intranet");
	ASSERT_STR_EQ(c.users[0].hosts[1], "b.c");
	ASSERT_STR_EQ(c.users[0].hosts[2], "d.t.example");
	cfg_server_free(&c);
	CHECK(server_err("domain: a.b\nhttp_port: 80\nusers:\n"
	    "  - {username: a, password: pw, hosts: [x..]}\n", "t.yaml:4:",
	    "not a host name"));
	CHECK(server_err("http_port: 80\nusers:\n  - {username: a, "
	    "password: pw}\n", "t.yaml:1:12: ", "needs a domain"));
	CHECK(server_err("domain: a.b\nusers:\n  - {username: a, "
	    "password: pw}\n", "t.yaml:1:9: ", "set http_port or https_port too"));
	CHECK(server_err("domain: a.b\nhttps_port: 443\nusers:\n"
	    "  - {username: a, password: pw}\n", "t.yaml:2:13: ",
	    "needs https_certs"));
	CHECK(server_err("domain: a.b\nhttp_port: 80\nhttps_port: 80\n"
	    "users:\n  - {username: a, password: pw}\n", "t.yaml:3:13: ",
	    "already the http_port"));
	CHECK(server_err("domain: a.b\nhttp_port: 80\nhttps_certs:\n"
	    "  - {cert: a, key: b}\nusers:\n  - {username: a, password: pw}\n",
	    "t.yaml:4:3: ", "set https_port too"));
	CHECK(server_err("https_port: 443\nhttps_certs:\n  - {cert: a, key: b}"
	    "\nusers:\n  - {username: a, password: pw}\n", "t.yaml:1:13: ",
	    "needs a domain"));
	CHECK(server_err("domain: a.b\nhttps_port: 443\nhttps_certs:\n"
	    "  - {cert: a}\nusers:\n  - {username: a, password: pw}\n",
	    "t.yaml:4:5: ", "missing required key 'key'"));
	CHECK(server_ok("domain: a.b\nhttps_port: 443\nhttp_redirect: no\n"
	    "https_certs:\n  - {cert: a.pem, key: a.key}\n  - cert: b.pem\n"
	    "    key: b.key\nusers:\n  - {username: a, password: pw}\n", &c));
	ASSERT_EQ(c.nhttps_certs, 2);
	ASSERT_STR_EQ(c.https_certs[1].key, "b.key");
	ASSERT_EQ(c.http_redirect, 0);
	ASSERT_EQ(c.http_port, 0);
	cfg_server_free(&c);
	CHECK(server_err("domain: a.b\nhttp_port: 80\nport: 80\nusers:\n"
	    "  - {username: a, password: pw}\n", "t.yaml:2:12: ",
	    "already the main port"));
	CHECK(server_err("domain: a.b\nhttp_port: 80\nusers:\n"
	    "  - {username: a, password: pw, port: 80}\n", "t.yaml:2:12: ",
	    "already the port of user 'a'"));
	CHECK(server_err("domain: a.b\nhttp_port: 80\nmetrics_listen: "
	    "\"127.0.0.1:80\"\nusers:\n  - {username: a, password: pw}\n",
	    "t.yaml:2:12: ", "metrics_listen"));
	CHECK(server_err("domain: a.b\nhttp_port: 80\nusers:\n"
	    "  - {username: a, password: pw, hosts: [x, X]}\n", "t.yaml:4:",
	    "listed twice"));
	CHECK(server_err("domain: a.b\nhttp_port: 80\nusers:\n"
	    "  - {username: a, password: pw, hosts: [x.a.b]}\n"
	    "  - {username: b, password: pw, hosts: [x]}\n", "t.yaml:5:",
	    "already a host of user 'a'"));
	CHECK(server_err("domain: a.b\nhttp_port: 80\nusers:\n"
	    "  - {username: a, password: pw, hosts: [a_b]}\n", "t.yaml:4:",
	    "not a host name"));
	CHECK(server_err("domain: a.b\nhttp_port: 80\nusers:\n"
	    "  - {username: a, password: pw, hosts: [{x: 1}]}\n", "t.yaml:4:",
	    "each entry must be a host name"));
	CHECK(server_err("domain: 1.2.3.4\nhttp_port: 80\nusers:\n"
	    "  - {username: a, password: pw}\n", "t.yaml:1:9: ",
	    "not a host name"));
	CHECK(server_err("users:\n  - {username: a, password: pw, "
	    "hosts: [x]}\n", "t.yaml:2:", "bare label"));

	cfg_client_init(&k);
	ASSERT_EQ(cfg_client_load_mem("c.yaml", "server_addr: h:1\n"
	    "username: u\npassword: p\nservices:\n  - {host: A, local_port: 1}"
	    "\n  - {host: b.c, local_port: 2, local_host: \"::1\"}\n",
	    strlen("server_addr: h:1\nusername: u\npassword: p\nservices:\n"
	    "  - {host: A, local_port: 1}\n  - {host: b.c, local_port: 2, "
	    "local_host: \"::1\"}\n"), &k, err, sizeof(err)), 0);
	ASSERT_EQ(k.nservices, 2);
	ASSERT_STR_EQ(k.services[0].host, "a");
	ASSERT_STR_EQ(k.services[0].local_host, "127.0.0.1");
	ASSERT_EQ(k.services[1].local_port, 2);
	ASSERT_STR_EQ(k.services[1].local_host, "::1");
	ASSERT_EQ(k.local_port, 0);	/* services, no local_port */
	cfg_client_free(&k);
	cfg_client_init(&k);
	ASSERT_EQ(cfg_client_load_mem("c.yaml", "server_addr: h:1\n"
	    "username: u\npassword: p\nlocal_port: 9\nservices:\n"
	    "  - {host: a, local_port: 1}\n", strlen("server_addr: h:1\n"
	    "username: u\npassword: p\nlocal_port: 9\nservices:\n"
	    "  - {host: a, local_port: 1}\n"), &k, err, sizeof(err)), 0);
	ASSERT_EQ(k.local_port, 9);
	cfg_client_free(&k);
	CHECK(client_err("server_addr: h:1\nusername: u\npassword: p\n"
	    "services:\n  - {host: a}\n", "c.yaml:5:5: ",
	    "missing required key 'local_port'"));
	CHECK(client_err("server_addr: h:1\nusername: u\npassword: p\n"
	    "services:\n  - {host: a, local_port: 1}\n  - {host: A, "
	    "local_port: 2}\n", "c.yaml:6:5: ", "served twice"));
	CHECK(client_err("server_addr: h:1\nusername: u\npassword: p\n"
	    "services:\n  - {host: a b, local_port: 1}\n", "c.yaml:5:",
	    "not a host name"));
	CHECK(client_err("server_addr: h:1\nusername: u\npassword: p\n"
	    "services: [a]\n", "c.yaml:4:", "each entry must be a mapping"));
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "config_go_original", test_go_original },
	{ "config_go_original_inline", test_go_original_inline },
	{ "config_example_server", test_example_server },
	{ "config_example_client", test_example_client },
	{ "config_minimal", test_minimal },
	{ "config_all_keys", test_all_keys },
	{ "config_syntax_error", test_syntax_error },
	{ "config_not_a_mapping", test_not_a_mapping },
	{ "config_empty", test_empty },
	{ "config_unknown_key", test_unknown_key },
	{ "config_duplicate_key", test_duplicate_key },
	{ "config_wrong_type", test_wrong_type },
	{ "config_missing_value", test_missing_value },
	{ "config_numbers", test_numbers },
	{ "config_other_values", test_other_values },
	{ "config_aliases", test_aliases },
	{ "config_billion_laughs", test_billion_laughs },
	{ "config_deep_nesting", test_deep_nesting },
	{ "config_too_many_nodes", test_too_many_nodes },
	{ "config_too_big_mem", test_too_big_mem },
	{ "config_too_many_users", test_too_many_users },
	{ "config_missing_required", test_missing_required },
	{ "config_duplicate_username", test_duplicate_username },
	{ "config_port_clash", test_port_clash },
	{ "config_password_kinds", test_password_kinds },
	{ "config_long_password", test_long_password },
	{ "config_load_files", test_load_files },
	{ "config_write_default", test_write_default },
	{ "config_client_roundtrip", test_client_roundtrip },
	{ "config_split_hostport", test_split_hostport },
	{ "config_failure_resets", test_failure_resets },
	{ "config_front_keys", test_front_keys },
	{ "config_acme_keys", test_acme_keys },
};

TEST_MAIN(tests)
