/*
 * config: the YAML files of tunnel-server and tunnel-client.
 *
 * Theory of operation. A file is read whole into memory (regular files
 * only, at most CFG_MAX_FILE_SIZE bytes) and parsed twice by libyaml. The
 * first pass walks the event stream only to refuse what the second pass
 * must never see: anchors and aliases (a "billion laughs" document is
 * refused at its first anchor), nesting deeper than CFG_MAX_DEPTH, more
 * than CFG_MAX_NODES nodes and more than one document. The second pass is
 * yaml_parser_load(), whose node tree is walked with a key table per
 * mapping {name, node type, handler, offset, min, max, required}: a key
 * that is not in the table is an error (with a did-you-mean when a known
 * key is within edit distance 2), and so are a repeated key, a value of
 * the wrong node type and a number that strtol() does not take whole or
 * that is out of range. Cross-field checks (duplicate usernames, clashing
 * ports) run afterwards as a separate pass. Every problem is reported once,
 * the first one found, as "file:line:col: message" with libyaml's 0-based
 * marks turned 1-based.
 *
 * A load fills a temporary struct and moves it into the caller's only on
 * success, so a failed load leaves the defaults and leaks nothing. Strings
 * are strdup'd; the YAML document, the parser and the file buffer (which
 * holds passwords) are freed, the buffer wiped, before returning.
 *
 * Writing (the server's first config, the client's saved answers) quotes
 * every string as a YAML double-quoted scalar and parses the text back
 * before it touches the disk, so what is written always loads.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "auth.h"
#include "config.h"
#include "crypt_policy.h"
#include "fdio.h"
#include "front_sniff.h"
#include "log.h"
#include "proto.h"
#include "proxyproto.h"
#include "sys.h"
#include "tls.h"

#define CFG_MAX_DEPTH	32	/* our files nest 3 deep */
#define CFG_MAX_NODES	100000	/* 1000 users need about 7000 */
#define CFG_MAX_KEYS	24	/* longest key table (checked below) */
#define CFG_KEY_MAX	32	/* longer keys get no did-you-mean */
#define CFG_MAX_SECRET	(CRYPT_MAX_PASSPHRASE_SIZE - 1)
#define CFG_SHOW_MAX	48	/* bytes of a bad value quoted back */
#define CFG_DEFAULT_LOG_LEVEL	"info"
#define CFG_DEFAULT_LOCAL_HOST	"127.0.0.1"
#define CFG_DEFAULT_LOCAL_PORT	8000

/* Where each user's values sit, for the cross-field pass. */
struct user_marks {
	yaml_mark_t	 username;
	yaml_mark_t	 port;
	yaml_mark_t	 hosts;
};

struct walk {
	const char		*name;	/* file name in messages */
	char			*err;
	size_t			 errlen;
	int			 errnum; /* errno for the caller */
	yaml_document_t		*doc;
	struct user_marks	*marks;	/* server: one per user */
	size_t			 cur;	/* user being read */
	yaml_mark_t		 metrics; /* server: metrics_listen's value */
	yaml_mark_t		 http;	/* server: http_port's value */
	yaml_mark_t		 https;	/* server: https_port's value */
	yaml_mark_t		 certs;	/* server: https_certs' value */
	yaml_mark_t		 acme;	/* server: acme's value */
	yaml_mark_t		 challenge; /* server: acme.challenge's */
	yaml_mark_t		 domain; /* server: domain's value */
};

struct cfg_key {
	const char		*name;
	yaml_node_type_t	 type;	/* the value's node type */
	const char		*what;	/* "expected <what>" */
	int			(*fn)(struct walk *,
				    const struct cfg_key *, yaml_node_t *,
				    void *);
	size_t			 off;	/* offsetof the field */
	long			 min;
	long			 max;
	int			 required;
};

static int	set_int(struct walk *, const struct cfg_key *, yaml_node_t *,
		    void *);
static int	set_str(struct walk *, const struct cfg_key *, yaml_node_t *,
		    void *);
static int	set_bool(struct walk *, const struct cfg_key *, yaml_node_t *,
		    void *);
static int	set_level(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_username(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_password(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_secret(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_user_port(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_users(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_log(struct walk *, const struct cfg_key *, yaml_node_t *,
		    void *);
static int	set_addr(struct walk *, const struct cfg_key *, yaml_node_t *,
		    void *);
static int	set_transport(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_listen(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_proxy_protocol(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_fingerprint(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_login_setting(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_domain(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_http_port(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_hosts(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_host(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_local_port(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_services(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_https_port(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_certs(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_acme(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_acme_str(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);
static int	set_challenge(struct walk *, const struct cfg_key *,
		    yaml_node_t *, void *);

#define NUMBER	YAML_SCALAR_NODE, "a number", set_int
#define STRING	YAML_SCALAR_NODE, "a string"
#define LEVELS	"one of error, warn, info, debug"
#define TRANSPORTS "tls or plain"

static const struct cfg_key server_keys[] = {
	{ "port", NUMBER, offsetof(struct cfg_server, port), 1, 65535, 0 },
	{ "pool_size", NUMBER, offsetof(struct cfg_server, pool_size),
	    1, PROTO_MAX_POOL, 0 },
	{ "connect_timeout", NUMBER,
	    offsetof(struct cfg_server, connect_timeout), 1, 3600, 0 },
	{ "idle_timeout", NUMBER, offsetof(struct cfg_server, idle_timeout),
	    0, 604800, 0 },
	{ "visitors_per_address", NUMBER,
	    offsetof(struct cfg_server, visitors_per_address), 0, 1000000, 0 },
	{ "pipe_memory_mb", NUMBER,
	    offsetof(struct cfg_server, pipe_memory_mb), 1, 65536, 0 },
	{ "shutdown_grace", NUMBER,
	    offsetof(struct cfg_server, shutdown_grace), 0,
	    CFG_MAX_SHUTDOWN_GRACE, 0 },
	{ "transport", YAML_SCALAR_NODE, TRANSPORTS, set_transport,
	    offsetof(struct cfg_server, transport), 0, 0, 0 },
	{ "tls_cert", STRING, set_str, offsetof(struct cfg_server, tls_cert),
	    0, 0, 0 },
	{ "tls_key", STRING, set_str, offsetof(struct cfg_server, tls_key),
	    0, 0, 0 },
	{ "metrics_listen", STRING, set_listen,
	    offsetof(struct cfg_server, metrics_listen), 0, 0, 0 },
	{ "domain", STRING, set_domain, offsetof(struct cfg_server, domain),
	    0, 0, 0 },
	{ "http_port", YAML_SCALAR_NODE, "a number", set_http_port,
	    offsetof(struct cfg_server, http_port), 0, 65535, 0 },
	{ "https_port", YAML_SCALAR_NODE, "a number", set_https_port,
	    offsetof(struct cfg_server, https_port), 0, 65535, 0 },
	{ "https_certs", YAML_SEQUENCE_NODE, "a list of certificates (cert, "
	    "key)", set_certs, 0, 0, 0, 0 },
	{ "http_redirect", YAML_SCALAR_NODE, "true or false", set_bool,
	    offsetof(struct cfg_server, http_redirect), 0, 0, 0 },
	{ "acme", YAML_MAPPING_NODE, "a mapping (email, directory, ca_file, "
	    "challenge)",
	    set_acme, 0, 0, 0, 0 },
	{ "users", YAML_SEQUENCE_NODE, "a list of users", set_users, 0, 0, 0,
	    1 },
	{ "log", YAML_MAPPING_NODE, "a mapping (enable, path, level)",
	    set_log, 0, 0, 0, 0 },
};

static const struct cfg_key log_keys[] = {
	{ "enable", YAML_SCALAR_NODE, "true or false", set_bool,
	    offsetof(struct cfg_server, log_enable), 0, 0, 0 },
	{ "path", STRING, set_str, offsetof(struct cfg_server, log_path),
	    0, 0, 0 },
	{ "level", YAML_SCALAR_NODE, LEVELS, set_level,
	    offsetof(struct cfg_server, log_level), 0, 0, 0 },
};

static const struct cfg_key acme_keys[] = {
	{ "email", STRING, set_acme_str, offsetof(struct cfg_acme, email),
	    0, 0, 0 },
	{ "directory", STRING, set_acme_str,
	    offsetof(struct cfg_acme, directory), 0, 0, 0 },
	{ "ca_file", STRING, set_acme_str, offsetof(struct cfg_acme, ca_file),
	    0, 0, 0 },
	{ "challenge", YAML_SCALAR_NODE, "http-01 or tls-alpn-01",
	    set_challenge, offsetof(struct cfg_acme, challenge), 0, 0, 0 },
};

static const struct cfg_key user_keys[] = {
	{ "username", STRING, set_username,
	    offsetof(struct cfg_user, username), 0, 0, 1 },
	{ "password", STRING, set_password,
	    offsetof(struct cfg_user, password), 0, 0, 1 },
	{ "port", YAML_SCALAR_NODE, "a number", set_user_port,
	    offsetof(struct cfg_user, port), 1, 65535, 0 },
	{ "hosts", YAML_SEQUENCE_NODE, "a list of host names", set_hosts,
	    0, 0, 0, 0 },
};

static const struct cfg_key service_keys[] = {
	{ "host", STRING, set_host, offsetof(struct cfg_service, host),
	    0, 0, 1 },
	{ "local_port", NUMBER, offsetof(struct cfg_service, local_port),
	    1, 65535, 1 },
	{ "local_host", STRING, set_str,
	    offsetof(struct cfg_service, local_host), 0, 0, 0 },
	{ "passthrough", YAML_SCALAR_NODE, "true or false", set_bool,
	    offsetof(struct cfg_service, passthrough), 0, 0, 0 },
};

static const struct cfg_key cert_keys[] = {
	{ "cert", STRING, set_str, offsetof(struct cfg_cert, cert), 0, 0, 1 },
	{ "key", STRING, set_str, offsetof(struct cfg_cert, key), 0, 0, 1 },
};

static const struct cfg_key client_keys[] = {
	{ "server_addr", STRING, set_addr,
	    offsetof(struct cfg_client, server_addr), 0, 0, 1 },
	{ "local_host", STRING, set_str,
	    offsetof(struct cfg_client, local_host), 0, 0, 0 },
	{ "local_port", YAML_SCALAR_NODE, "a number", set_local_port,
	    offsetof(struct cfg_client, local_port), 1, 65535, 0 },
	{ "services", YAML_SEQUENCE_NODE, "a list of services (host, "
	    "local_port, local_host)", set_services, 0, 0, 0, 0 },
	{ "connect_timeout", NUMBER,
	    offsetof(struct cfg_client, connect_timeout), 1, 3600, 0 },
	{ "shutdown_grace", NUMBER,
	    offsetof(struct cfg_client, shutdown_grace), 0,
	    CFG_MAX_SHUTDOWN_GRACE, 0 },
	{ "username", STRING, set_username,
	    offsetof(struct cfg_client, username), 0, 0, 1 },
	{ "password", STRING, set_secret,
	    offsetof(struct cfg_client, password), 0, 0, 1 },
	{ "log_level", YAML_SCALAR_NODE, LEVELS, set_level,
	    offsetof(struct cfg_client, log_level), 0, 0, 0 },
	{ "transport", YAML_SCALAR_NODE, TRANSPORTS, set_transport,
	    offsetof(struct cfg_client, transport), 0, 0, 0 },
	{ "proxy_protocol", YAML_SCALAR_NODE, "v1, v2 or off",
	    set_proxy_protocol, offsetof(struct cfg_client, proxy_protocol),
	    0, 0, 0 },
	{ "server_fingerprint", STRING, set_fingerprint,
	    offsetof(struct cfg_client, server_fingerprint), 0, 0, 0 },
	{ "login_setting", STRING, set_login_setting,
	    offsetof(struct cfg_client, login_setting), 0, 0, 0 },
};

/* walk_mapping() tracks each table's keys in arrays of CFG_MAX_KEYS. */
#define CFG_NKEYS(t)	(sizeof(t) / sizeof((t)[0]))
_Static_assert(CFG_NKEYS(server_keys) <= CFG_MAX_KEYS &&
    CFG_NKEYS(log_keys) <= CFG_MAX_KEYS &&
    CFG_NKEYS(user_keys) <= CFG_MAX_KEYS &&
    CFG_NKEYS(service_keys) <= CFG_MAX_KEYS &&
    CFG_NKEYS(cert_keys) <= CFG_MAX_KEYS &&
    CFG_NKEYS(client_keys) <= CFG_MAX_KEYS, "raise CFG_MAX_KEYS");

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Defaults are heap strings so that every string field is owned alike. */
static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		abort();
	return p;
}

/* Frees a string that may hold a secret. */
static void
free_secret(char *s)
{
	if (s != NULL) {
		sys_wipe(s, strlen(s));
		free(s);
	}
}

void
cfg_server_init(struct cfg_server *c)
{
	memset(c, 0, sizeof(*c));
	c->port = CFG_DEFAULT_PORT;
	c->pool_size = CFG_DEFAULT_POOL_SIZE;
	c->connect_timeout = CFG_DEFAULT_CONNECT_TIMEOUT;
	c->idle_timeout = 0;
	c->visitors_per_address = CFG_DEFAULT_VISITORS_PER_ADDRESS;
	c->pipe_memory_mb = CFG_DEFAULT_PIPE_MEMORY_MB;
	c->shutdown_grace = CFG_DEFAULT_SHUTDOWN_GRACE;
	c->transport = CFG_TRANSPORT_TLS;
	c->http_redirect = 1;
	c->acme.directory = xstrdup(CFG_DEFAULT_ACME_DIRECTORY);
	c->log_enable = 0;
	c->log_path = xstrdup(CFG_DEFAULT_LOG_PATH);
	c->log_level = xstrdup(CFG_DEFAULT_LOG_LEVEL);
}

void
cfg_client_init(struct cfg_client *c)
{
	memset(c, 0, sizeof(*c));
	c->local_host = xstrdup(CFG_DEFAULT_LOCAL_HOST);
	c->local_port = CFG_DEFAULT_LOCAL_PORT;
	c->connect_timeout = CFG_DEFAULT_CLIENT_TIMEOUT;
	c->shutdown_grace = CFG_DEFAULT_SHUTDOWN_GRACE;
	c->log_level = xstrdup(CFG_DEFAULT_LOG_LEVEL);
	c->transport = CFG_TRANSPORT_TLS;
}

void
cfg_hosts_free(char **hosts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(hosts[i]);
	free(hosts);
}

int
cfg_host_written(const char *s, size_t len, char *out)
{
	/* A final dot makes a full name of even one label: "intranet." */
	int full = len > 1 && s[len - 1] == '.';

	if (!front_name_ok(s, len - (size_t)full, out))
		return -1;
	if (full)
		(void)strcat(out, ".");
	return 0;
}

int
cfg_host_name(const char *host, const char *domain, char *out)
{
	size_t n = strlen(host);
	int r;

	if (cfg_host_written(host, n, out) == -1)
		return -1;
	if (out[n - 1] == '.') {
		out[n - 1] = '\0';
		return 0;
	}
	if (strchr(out, '.') != NULL)
		return 0;
	if (domain == NULL)
		return -1;
	r = snprintf(out + n, FRONT_MAX_NAME + 1 - n, ".%s", domain);
	return r < 0 || (size_t)r > FRONT_MAX_NAME - n ? -1 : 0;
}

void
cfg_server_free(struct cfg_server *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nusers; i++) {
		free(c->users[i].username);
		free_secret(c->users[i].password);
		cfg_hosts_free(c->users[i].hosts, c->users[i].nhosts);
	}
	free(c->users);
	free(c->path);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->metrics_listen);
	free(c->domain);
	for (i = 0; i < c->nhttps_certs; i++) {
		free(c->https_certs[i].cert);
		free(c->https_certs[i].key);
	}
	free(c->https_certs);
	free(c->acme.directory);
	free(c->acme.email);
	free(c->acme.ca_file);
	free(c->log_path);
	free(c->log_level);
	memset(c, 0, sizeof(*c));
}

void
cfg_client_free(struct cfg_client *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nservices; i++) {
		free(c->services[i].host);
		free(c->services[i].local_host);
	}
	free(c->services);
	free(c->path);
	free(c->server_addr);
	free(c->local_host);
	free(c->username);
	free_secret(c->password);
	free(c->log_level);
	free(c->server_fingerprint);
	free(c->login_setting);
	memset(c, 0, sizeof(*c));
}

/*
 * Messages.
 */

static void	walk_verr(struct walk *, int, size_t, size_t, const char *,
		    va_list) __attribute__((format(TUNNEL_PRINTF, 5, 0)));
static int	walk_err(struct walk *, yaml_mark_t, const char *, ...)
		    __attribute__((format(TUNNEL_PRINTF, 3, 4)));
static int	walk_err_file(struct walk *, const char *, ...)
		    __attribute__((format(TUNNEL_PRINTF, 2, 3)));

static void
walk_verr(struct walk *w, int with_pos, size_t line, size_t col,
    const char *fmt, va_list ap)
{
	int n;

	if (w->errnum == 0)
		w->errnum = EINVAL;
	if (w->errlen == 0)
		return;
	if (with_pos)
		n = snprintf(w->err, w->errlen, "%s:%zu:%zu: ", w->name,
		    line, col);
	else
		n = snprintf(w->err, w->errlen, "%s: ", w->name);
	if (n < 0 || (size_t)n >= w->errlen)
		return;
	(void)vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
}

/* Reports a problem at a libyaml mark. Return: -1. */
static int
walk_err(struct walk *w, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	walk_verr(w, 1, m.line + 1, m.column + 1, fmt, ap);
	va_end(ap);
	return -1;
}

/* Reports a problem of the whole file. Return: -1. */
static int
walk_err_file(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	walk_verr(w, 0, 0, 0, fmt, ap);
	va_end(ap);
	return -1;
}

static int
walk_oom(struct walk *w)
{
	w->errnum = ENOMEM;
	return walk_err_file(w, "out of memory");
}

/*
 * Copies s (len bytes) into dst for a message: printable ASCII as is,
 * anything else as \xNN, cut at CFG_SHOW_MAX bytes with "...".
 */
static const char *
show(char *dst, size_t dstlen, const void *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = s;
	size_t i, o = 0;

	for (i = 0; i < len && i < CFG_SHOW_MAX; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' &&
		    p[i] != '\'') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)p[i];
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[p[i] >> 4];
			dst[o++] = hex[p[i] & 15];
		}
	}
	if (i < len && o + 3 < dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

#define SHOWBUF	(CFG_SHOW_MAX * 4 + 4)

/* libyaml's error after a failed parse or load. Return: -1. */
static int
parser_err(struct walk *w, const yaml_parser_t *p, const char *buf,
    size_t len)
{
	const char *problem = p->problem != NULL ? p->problem : "syntax error";
	size_t i, line = 1, col = 1, end;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return walk_oom(w);
	case YAML_READER_ERROR:
		/* The reader has no mark: count to the offset ourselves. */
		end = p->problem_offset < len ? p->problem_offset : len;
		i = 0;
		if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
			i = 3;
		for (; i < end; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)buf[i] & 0xc0) != 0x80)
				col++;
		}
		walk_err(w, (yaml_mark_t){ 0, line - 1, col - 1 },
		    "%s (#x%X): the file must be UTF-8 text", problem,
		    (unsigned int)p->problem_value);
		return -1;
	default:
		if (p->context != NULL)
			return walk_err(w, p->problem_mark,
			    "%s (%s at line %zu)", problem, p->context,
			    p->context_mark.line + 1);
		return walk_err(w, p->problem_mark, "%s", problem);
	}
}

/*
 * First pass over the event stream: refuses anchors and aliases, deep
 * nesting, huge node counts and extra documents before the loader (which
 * would build the whole tree) runs. Also reports syntax errors.
 * Return: 0 or -1 with the message in w.
 */
static int
prescan(struct walk *w, const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	yaml_char_t *anchor;
	yaml_mark_t m;
	size_t depth = 0, nodes = 0, docs = 0;
	int done = 0, r = 0;
	const char *why;

	if (!yaml_parser_initialize(&p))
		return walk_oom(w);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && r == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			r = parser_err(w, &p, buf, len);
			break;
		}
		m = ev.start_mark;
		anchor = NULL;
		why = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				why = "only one YAML document is allowed";
			break;
		case YAML_ALIAS_EVENT:
			why = "YAML aliases are not supported";
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			nodes++;
			break;
		case YAML_SEQUENCE_START_EVENT:
			anchor = ev.data.sequence_start.anchor;
			nodes++;
			depth++;
			break;
		case YAML_MAPPING_START_EVENT:
			anchor = ev.data.mapping_start.anchor;
			nodes++;
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (why == NULL && anchor != NULL)
			why = "YAML anchors (&name) and aliases are not "
			    "supported";
		if (why == NULL && depth > CFG_MAX_DEPTH)
			why = "nesting is too deep";
		if (why == NULL && nodes > CFG_MAX_NODES)
			why = "too many values";
		yaml_event_delete(&ev);
		if (why != NULL)
			r = walk_err(w, m, "%s", why);
	}
	yaml_parser_delete(&p);
	return r;
}

/*
 * Nodes.
 */

static int
is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = (const char *)n->data.scalar.value;
	return n->data.scalar.length == 0 || strcmp(s, "~") == 0 ||
	    strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0;
}

/* The text of a scalar value, refusing embedded NULs ("\0" escapes). */
static const char *
scalar(struct walk *w, const struct cfg_key *k, const yaml_node_t *v)
{
	const char *s = (const char *)v->data.scalar.value;

	if (memchr(s, '\0', v->data.scalar.length) != NULL) {
		walk_err(w, v->start_mark, "%s: contains a NUL character",
		    k->name);
		return NULL;
	}
	return s;
}

static char **
field_str(const struct cfg_key *k, void *obj)
{
	return (char **)(void *)((char *)obj + k->off);
}

static int *
field_int(const struct cfg_key *k, void *obj)
{
	return (int *)(void *)((char *)obj + k->off);
}

/* Replaces the string field of k with a copy of s. */
static int
store_str(struct walk *w, const struct cfg_key *k, void *obj, const char *s)
{
	char **f = field_str(k, obj), *p;

	if ((p = strdup(s)) == NULL)
		return walk_oom(w);
	free_secret(*f);
	*f = p;
	return 0;
}

/* Optimal string alignment distance, for short strings. */
static size_t
edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t d[CFG_KEY_MAX + 1][CFG_KEY_MAX + 1], i, j, best;

	if (la > CFG_KEY_MAX || lb > CFG_KEY_MAX)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/*
 * Walks the pairs of a mapping node through a key table, then checks that
 * every required key was there. Return: 0 or -1 with the message in w.
 */
static int
walk_mapping(struct walk *w, yaml_node_t *map, const struct cfg_key *keys,
    size_t nkeys, void *obj)
{
	yaml_mark_t first[CFG_MAX_KEYS];
	int seen[CFG_MAX_KEYS] = { 0 };
	char shown[SHOWBUF];
	yaml_node_pair_t *pr;
	yaml_node_t *kn, *vn;
	const char *name, *guess;
	size_t i, len, dist, best;

	for (pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top; pr++) {
		kn = yaml_document_get_node(w->doc, pr->key);
		vn = yaml_document_get_node(w->doc, pr->value);
		if (kn == NULL || vn == NULL)
			return walk_err(w, map->start_mark, "broken mapping");
		if (kn->type != YAML_SCALAR_NODE)
			return walk_err(w, kn->start_mark,
			    "expected a key name, found a %s",
			    kn->type == YAML_MAPPING_NODE ? "mapping" :
			    "list");
		name = (const char *)kn->data.scalar.value;
		len = kn->data.scalar.length;
		for (i = 0; i < nkeys; i++)
			if (strlen(keys[i].name) == len &&
			    memcmp(keys[i].name, name, len) == 0)
				break;
		if (i == nkeys) {
			guess = NULL;
			best = 3;
			for (i = 0; i < nkeys; i++) {
				dist = edit_distance(name, len, keys[i].name,
				    strlen(keys[i].name));
				if (dist < best) {
					best = dist;
					guess = keys[i].name;
				}
			}
			show(shown, sizeof(shown), name, len);
			if (guess != NULL)
				return walk_err(w, kn->start_mark,
				    "unknown key '%s' (did you mean '%s'?)",
				    shown, guess);
			return walk_err(w, kn->start_mark,
			    "unknown key '%s'", shown);
		}
		if (seen[i])
			return walk_err(w, kn->start_mark,
			    "duplicate key '%s' (first at line %zu)",
			    keys[i].name, first[i].line + 1);
		seen[i] = 1;
		first[i] = kn->start_mark;
		if (is_null(vn)) {
			/* "log:" with every sub-key commented out. */
			if (keys[i].type == YAML_MAPPING_NODE)
				continue;
			return walk_err(w, kn->start_mark,
			    "%s: missing value (expected %s)", keys[i].name,
			    keys[i].what);
		}
		if (vn->type != keys[i].type)
			return walk_err(w, vn->start_mark, "%s: expected %s",
			    keys[i].name, keys[i].what);
		if (keys[i].fn(w, &keys[i], vn, obj) == -1)
			return -1;
	}
	for (i = 0; i < nkeys; i++)
		if (keys[i].required && !seen[i])
			return walk_err(w, map->start_mark,
			    "missing required key '%s'", keys[i].name);
	return 0;
}

/*
 * Value handlers: v already has the table's node type and is not null.
 */

static int
parse_long(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    long *out)
{
	char shown[SHOWBUF], *end;
	const char *s;
	long n;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	show(shown, sizeof(shown), s, v->data.scalar.length);
	if (!(s[0] >= '0' && s[0] <= '9') && !((s[0] == '-' || s[0] == '+') &&
	    s[1] >= '0' && s[1] <= '9'))
		return walk_err(w, v->start_mark, "%s: '%s' is not a number",
		    k->name, shown);
	errno = 0;
	n = strtol(s, &end, 10);
	if (*end != '\0')
		return walk_err(w, v->start_mark, "%s: '%s' is not a number",
		    k->name, shown);
	if (errno == ERANGE || n < k->min || n > k->max)
		return walk_err(w, v->start_mark,
		    "%s: %s is out of range (%ld..%ld)", k->name, shown,
		    k->min, k->max);
	*out = n;
	return 0;
}

static int
set_int(struct walk *w, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	long n;

	if (parse_long(w, k, v, &n) == -1)
		return -1;
	*field_int(k, obj) = (int)n;
	return 0;
}

/* A non-empty string. */
static int
set_str(struct walk *w, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	const char *s;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	if (s[0] == '\0')
		return walk_err(w, v->start_mark, "%s: must not be empty",
		    k->name);
	return store_str(w, k, obj, s);
}

static int
set_bool(struct walk *w, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	static const char *yes[] = { "true", "yes", "on" };
	static const char *no[] = { "false", "no", "off" };
	char shown[SHOWBUF];
	const char *s;
	size_t i;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	for (i = 0; i < NELEM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*field_int(k, obj) = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*field_int(k, obj) = 0;
			return 0;
		}
	}
	return walk_err(w, v->start_mark, "%s: '%s' is not true or false",
	    k->name, show(shown, sizeof(shown), s, v->data.scalar.length));
}

static int
set_level(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	static const char *levels[] = { "error", "warn", "info", "debug" };
	char shown[SHOWBUF];
	const char *s;
	size_t i;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	for (i = 0; i < NELEM(levels); i++)
		if (strcasecmp(s, levels[i]) == 0)
			return store_str(w, k, obj, levels[i]);
	return walk_err(w, v->start_mark, "%s: '%s' is not %s", k->name,
	    show(shown, sizeof(shown), s, v->data.scalar.length), LEVELS);
}

const char *
cfg_transport_str(int transport)
{
	return transport == CFG_TRANSPORT_PLAIN ? "plain" : "tls";
}

int
cfg_proxy_protocol_parse(const char *s, int *out)
{
	if (strcmp(s, "v1") == 0)
		*out = PROXYPROTO_V1;
	else if (strcmp(s, "v2") == 0)
		*out = PROXYPROTO_V2;
	else if (strcmp(s, "off") == 0)
		*out = PROXYPROTO_OFF;
	else
		return -1;
	return 0;
}

static int
set_proxy_protocol(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	char shown[SHOWBUF];
	const char *s;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	if (cfg_proxy_protocol_parse(s, field_int(k, obj)) == -1)
		return walk_err(w, v->start_mark, "%s: '%s' is not v1, v2 or "
		    "off (the PROXY protocol version the local service "
		    "expects)", k->name, show(shown, sizeof(shown), s,
		    v->data.scalar.length));
	return 0;
}

static int
set_transport(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	char shown[SHOWBUF];
	const char *s;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	if (strcmp(s, "tls") == 0)
		*field_int(k, obj) = CFG_TRANSPORT_TLS;
	else if (strcmp(s, "plain") == 0)
		*field_int(k, obj) = CFG_TRANSPORT_PLAIN;
	else
		return walk_err(w, v->start_mark, "%s: '%s' is not %s "
		    "(plain only where the link is already private: a VPN, "
		    "WireGuard)", k->name, show(shown, sizeof(shown), s,
		    v->data.scalar.length), TRANSPORTS);
	return 0;
}

static int
set_fingerprint(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	char shown[SHOWBUF];
	const char *s;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	if (!tls_fp_valid(s) && strcmp(s, CFG_FP_CA) != 0)
		return walk_err(w, v->start_mark, "%s: '%s' is not a key "
		    "fingerprint (\"SHA256:\" and 43 base64 characters, as "
		    "tunnel-server --fingerprint prints it) nor \"ca\" (a "
		    "certificate from a trusted CA)", k->name,
		    show(shown, sizeof(shown), s, v->data.scalar.length));
	return store_str(w, k, obj, s);
}

static int
set_login_setting(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	char shown[SHOWBUF], why[256];
	const char *s;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	if (strlen(s) > PROTO_MAX_SETTING ||
	    crypt_policy_check(s, why, sizeof(why)) == -1)
		return walk_err(w, v->start_mark, "%s: '%s' is not a password "
		    "setting this client accepts (remove the line: the next "
		    "login records the server's)", k->name,
		    show(shown, sizeof(shown), s, v->data.scalar.length));
	return store_str(w, k, obj, s);
}

static int
set_username(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	const char *s;
	size_t i, len = v->data.scalar.length;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			break;
	if (len == 0 || len > PROTO_MAX_USER || i < len)
		return walk_err(w, v->start_mark,
		    "%s: must be 1 to %d printable ASCII characters without "
		    "spaces", k->name, PROTO_MAX_USER);
	if (w->marks != NULL)
		w->marks[w->cur].username = v->start_mark;
	return store_str(w, k, obj, s);
}

/* A plaintext password: non-empty, short enough for crypt(3). */
static int
set_secret(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	const char *s;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	if (s[0] == '\0')
		return walk_err(w, v->start_mark, "%s: must not be empty",
		    k->name);
	if (v->data.scalar.length > CFG_MAX_SECRET)
		return walk_err(w, v->start_mark,
		    "%s: longer than %d bytes", k->name, CFG_MAX_SECRET);
	return store_str(w, k, obj, s);
}

/*
 * A server user's password: plaintext, or a crypt(3) hash that is
 * test-hashed here so that an unusable one fails at load, not at login.
 * A hash outside crypt_policy is refused first, before its probe runs (a
 * 2 GiB yescrypt would take that much to probe): the client refuses to
 * log in with such a setting anyway.
 */
static int
set_password(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	struct cfg_user *u = obj;
	char setting[PROTO_MAX_SETTING + 1], why[256];
	const char *s;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	/*
	 * The example file's password is public: copied to /etc as it
	 * is, it would let anyone in. Its hash, or the word itself.
	 */
	if (strcmp(s, CFG_EXAMPLE_HASH) == 0 ||
	    strcmp(s, CFG_EXAMPLE_PASSWORD) == 0)
		return walk_err(w, v->start_mark, "%s: this is the example's "
		    "password \"%s\", which everyone can read; set your own "
		    "with tunnel-server --hash-password", k->name,
		    CFG_EXAMPLE_PASSWORD);
	u->is_plaintext = !auth_looks_like_hash(s);
	if (u->is_plaintext)
		return set_secret(w, k, v, obj);
	if (crypt_policy_check(s, why, sizeof(why)) == -1)
		return walk_err(w, v->start_mark, "%s: %s; make a new hash "
		    "with tunnel-server --hash-password", k->name, why);
	why[0] = '\0';
	if (auth_setting_from_hash(s, setting, sizeof(setting), why,
	    sizeof(why)) == -1)
		return walk_err(w, v->start_mark,
		    "%s: unusable crypt hash: %s", k->name,
		    why[0] != '\0' ? why : "rejected by libxcrypt");
	return store_str(w, k, obj, s);
}

static int
set_user_port(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	if (set_int(w, k, v, obj) == -1)
		return -1;
	w->marks[w->cur].port = v->start_mark;
	return 0;
}

static int
set_users(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	struct cfg_server *c = obj;
	yaml_node_item_t *it;
	yaml_node_t *e;
	size_t n;

	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n == 0)
		return walk_err(w, v->start_mark,
		    "%s: at least one user is required", k->name);
	if (n > CFG_MAX_USERS)
		return walk_err(w, v->start_mark, "%s: more than %d users",
		    k->name, CFG_MAX_USERS);
	if ((c->users = calloc(n, sizeof(*c->users))) == NULL ||
	    (w->marks = calloc(n, sizeof(*w->marks))) == NULL)
		return walk_oom(w);
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		e = yaml_document_get_node(w->doc, *it);
		if (e == NULL || e->type != YAML_MAPPING_NODE)
			return walk_err(w, e != NULL ? e->start_mark :
			    v->start_mark, "%s: each entry must be a mapping "
			    "with username and password", k->name);
		w->cur = c->nusers++;
		c->users[w->cur].line = (int)e->start_mark.line + 1;
		if (walk_mapping(w, e, user_keys, NELEM(user_keys),
		    &c->users[w->cur]) == -1)
			return -1;
	}
	return 0;
}

static int
set_log(struct walk *w, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	(void)k;
	return walk_mapping(w, v, log_keys, NELEM(log_keys), obj);
}

static int
set_acme(struct walk *w, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	struct cfg_server *c = obj;

	(void)k;
	c->acme_on = 1;
	w->acme = v->start_mark;
	return walk_mapping(w, v, acme_keys, NELEM(acme_keys), &c->acme);
}

/*
 * acme's strings go to the helper as lines (server_acme.c): no control
 * character, and each in the form its use needs.
 */
static int
set_acme_str(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	char shown[SHOWBUF];
	const char *s;
	size_t i;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	show(shown, sizeof(shown), s, v->data.scalar.length);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return walk_err(w, v->start_mark, "%s: '%s' has a "
			    "control character", k->name, shown);
	if (s[0] == '\0' || i > 1000)
		return walk_err(w, v->start_mark, "%s: %s", k->name,
		    s[0] == '\0' ? "empty" : "longer than 1000 characters");
	if (strcmp(k->name, "directory") == 0 &&
	    strncmp(s, "https://", 8) != 0)
		return walk_err(w, v->start_mark, "directory: '%s' is not an "
		    "https:// URL (an ACME directory, e.g. %s)", shown,
		    CFG_DEFAULT_ACME_DIRECTORY);
	if (strcmp(k->name, "email") == 0 && (strchr(s, '@') == NULL ||
	    strpbrk(s, " ,;<>\"") != NULL || i > 254))
		return walk_err(w, v->start_mark, "email: '%s' is not an "
		    "e-mail address", shown);
	return store_str(w, k, obj, s);
}

static int
set_challenge(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	char shown[SHOWBUF];
	const char *s;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	if (strcmp(s, "http-01") == 0)
		*field_int(k, obj) = CFG_ACME_HTTP_01;
	else if (strcmp(s, "tls-alpn-01") == 0)
		*field_int(k, obj) = CFG_ACME_TLS_ALPN_01;
	else
		return walk_err(w, v->start_mark, "challenge: '%s' is not "
		    "http-01 or tls-alpn-01", show(shown, sizeof(shown), s,
		    v->data.scalar.length));
	w->challenge = v->start_mark;
	return 0;
}

static int
set_addr(struct walk *w, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	char host[256], shown[SHOWBUF];
	const char *s;
	int port;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	if (cfg_split_hostport(s, host, sizeof(host), &port) == -1)
		return walk_err(w, v->start_mark,
		    "%s: '%s' is not host:port or [IPv6]:port with a port "
		    "1..65535", k->name,
		    show(shown, sizeof(shown), s, v->data.scalar.length));
	return store_str(w, k, obj, s);
}

/*
 * An address to listen on: a numeric IP (the server resolves no names)
 * and a port.
 */
static int
set_listen(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	char host[256], shown[SHOWBUF];
	unsigned char bin[16];
	const char *s;
	int port;

	if ((s = scalar(w, k, v)) == NULL)
		return -1;
	if (cfg_split_hostport(s, host, sizeof(host), &port) == -1 ||
	    (inet_pton(AF_INET, host, bin) != 1 &&
	    inet_pton(AF_INET6, host, bin) != 1))
		return walk_err(w, v->start_mark,
		    "%s: '%s' is not IP:port or [IPv6]:port with a numeric "
		    "address and a port 1..65535 (e.g. 127.0.0.1:9339)",
		    k->name, show(shown, sizeof(shown), s,
		    v->data.scalar.length));
	w->metrics = v->start_mark;
	return store_str(w, k, obj, s);
}

/*
 * The items of sequence v, at most max of them ("more than max what" past
 * it). Return: their number, or -1 with the message in w.
 */
static long
seq_len(struct walk *w, const struct cfg_key *k, const yaml_node_t *v,
    size_t max, const char *what)
{
	size_t n;

	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n > max)
		return walk_err(w, v->start_mark, "%s: more than %zu %s",
		    k->name, max, what);
	return (long)n;
}

/* Item it of sequence v, of node type type, else an error saying must. */
static yaml_node_t *
seq_item(struct walk *w, const struct cfg_key *k, const yaml_node_t *v,
    const yaml_node_item_t *it, yaml_node_type_t type, const char *must)
{
	yaml_node_t *e = yaml_document_get_node(w->doc, *it);

	if (e == NULL || e->type != type) {
		(void)walk_err(w, e != NULL ? e->start_mark : v->start_mark,
		    "%s: each entry must be %s", k->name, must);
		return NULL;
	}
	return e;
}

/*
 * A host name as routing reads it (front_name_ok), lowercased into name,
 * a final dot kept (cfg_host_written).
 */
static int
host_value(struct walk *w, const char *key, const yaml_node_t *v,
    char name[FRONT_MAX_NAME + 2])
{
	char shown[SHOWBUF];
	const char *s = (const char *)v->data.scalar.value;
	size_t len = v->data.scalar.length;

	if (memchr(s, '\0', len) != NULL ||
	    cfg_host_written(s, len, name) == -1)
		return walk_err(w, v->start_mark, "%s: '%s' is not a host "
		    "name (letters, digits and '-' in dot-separated labels, "
		    "at most %d bytes)", key, show(shown, sizeof(shown), s,
		    len), FRONT_MAX_NAME);
	return 0;
}

static int
set_domain(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	char name[FRONT_MAX_NAME + 2];
	size_t n;

	if (host_value(w, k->name, v, name) == -1)
		return -1;
	if ((n = strlen(name)) > 1 && name[n - 1] == '.')
		name[n - 1] = '\0';	/* the domain is a full name anyway */
	w->domain = v->start_mark;
	return store_str(w, k, obj, name);
}

static int
set_http_port(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	if (set_int(w, k, v, obj) == -1)
		return -1;
	w->http = v->start_mark;
	return 0;
}

static int
set_https_port(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	if (set_int(w, k, v, obj) == -1)
		return -1;
	w->https = v->start_mark;
	return 0;
}

static int
set_certs(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	struct cfg_server *c = obj;
	yaml_node_item_t *it;
	yaml_node_t *e;
	long n;

	if ((n = seq_len(w, k, v, CFG_MAX_CERTS, "certificates")) == -1)
		return -1;
	w->certs = v->start_mark;
	if (n > 0 && (c->https_certs = calloc((size_t)n,
	    sizeof(*c->https_certs))) == NULL)
		return walk_oom(w);
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		if ((e = seq_item(w, k, v, it, YAML_MAPPING_NODE, "a mapping "
		    "with cert and key")) == NULL)
			return -1;
		if (walk_mapping(w, e, cert_keys, NELEM(cert_keys),
		    &c->https_certs[c->nhttps_certs++]) == -1)
			return -1;
	}
	return 0;
}

/* users[].hosts: names as written; server_validate() qualifies them. */
static int
set_hosts(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	struct cfg_user *u = obj;
	char name[FRONT_MAX_NAME + 2];
	yaml_node_item_t *it;
	yaml_node_t *e;
	long n;
	size_t i;

	if ((n = seq_len(w, k, v, CFG_MAX_HOSTS, "names")) == -1)
		return -1;
	if (n > 0 && (u->hosts = calloc((size_t)n, sizeof(*u->hosts))) ==
	    NULL)
		return walk_oom(w);
	w->marks[w->cur].hosts = v->start_mark;
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		if ((e = seq_item(w, k, v, it, YAML_SCALAR_NODE,
		    "a host name")) == NULL)
			return -1;
		if (host_value(w, k->name, e, name) == -1)
			return -1;
		for (i = 0; i < u->nhosts; i++)
			if (strcmp(u->hosts[i], name) == 0)
				return walk_err(w, e->start_mark,
				    "%s: '%s' is listed twice", k->name, name);
		if ((u->hosts[u->nhosts] = strdup(name)) == NULL)
			return walk_oom(w);
		u->nhosts++;
	}
	return 0;
}

static int
set_host(struct walk *w, const struct cfg_key *k, yaml_node_t *v, void *obj)
{
	char name[FRONT_MAX_NAME + 2];

	if (host_value(w, k->name, v, name) == -1)
		return -1;
	return store_str(w, k, obj, name);
}

static int
set_local_port(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	if (set_int(w, k, v, obj) == -1)
		return -1;
	((struct cfg_client *)obj)->local_port_set = 1;
	return 0;
}

static int
set_services(struct walk *w, const struct cfg_key *k, yaml_node_t *v,
    void *obj)
{
	struct cfg_client *c = obj;
	struct cfg_service *sv;
	yaml_node_item_t *it;
	yaml_node_t *e;
	long n;
	size_t i;

	if ((n = seq_len(w, k, v, CFG_MAX_HOSTS, "services")) == -1)
		return -1;
	if (n > 0 && (c->services = calloc((size_t)n,
	    sizeof(*c->services))) == NULL)
		return walk_oom(w);
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		if ((e = seq_item(w, k, v, it, YAML_MAPPING_NODE, "a mapping "
		    "with host and local_port")) == NULL)
			return -1;
		sv = &c->services[c->nservices++];
		if (walk_mapping(w, e, service_keys, NELEM(service_keys),
		    sv) == -1)
			return -1;
		if (sv->local_host == NULL &&
		    (sv->local_host = strdup(CFG_DEFAULT_LOCAL_HOST)) == NULL)
			return walk_oom(w);
		for (i = 0; i + 1 < c->nservices; i++)
			if (strcmp(c->services[i].host, sv->host) == 0)
				return walk_err(w, e->start_mark, "%s: host "
				    "'%s' is served twice", k->name, sv->host);
	}
	return 0;
}

/*
 * The HTTP front: http_port needs a domain and a port of its own, and
 * every user's host becomes a full name that no other user holds.
 */
static int
front_validate(struct walk *w, struct cfg_server *c, int metrics_port)
{
	char name[FRONT_MAX_NAME + 1], *p;
	struct cfg_user *u;
	size_t i, j, k, l;

	if (c->http_port != 0) {
		if (c->domain == NULL)
			return walk_err(w, w->http, "http_port: needs a "
			    "domain (the name users' hosts go under)");
		if (c->http_port == c->port)
			return walk_err(w, w->http, "http_port: port %d is "
			    "already the main port", c->http_port);
		if (c->http_port == metrics_port)
			return walk_err(w, w->http, "http_port: port %d is "
			    "already metrics_listen's", c->http_port);
		for (i = 0; i < c->nusers; i++)
			if (c->users[i].port == c->http_port)
				return walk_err(w, w->http, "http_port: port "
				    "%d is already the port of user '%s' "
				    "(line %zu)", c->http_port,
				    c->users[i].username,
				    w->marks[i].port.line + 1);
	}
	if (c->https_port != 0) {
		if (c->domain == NULL)
			return walk_err(w, w->https, "https_port: needs a "
			    "domain (the name users' hosts go under)");
		if (c->https_port == c->port || c->https_port == c->http_port)
			return walk_err(w, w->https, "https_port: port %d is "
			    "already the %s", c->https_port,
			    c->https_port == c->port ? "main port" :
			    "http_port");
		if (c->https_port == metrics_port)
			return walk_err(w, w->https, "https_port: port %d is "
			    "already metrics_listen's", c->https_port);
		for (i = 0; i < c->nusers; i++)
			if (c->users[i].port == c->https_port)
				return walk_err(w, w->https, "https_port: "
				    "port %d is already the port of user '%s' "
				    "(line %zu)", c->https_port,
				    c->users[i].username,
				    w->marks[i].port.line + 1);
		if (c->nhttps_certs == 0 && !c->acme_on)
			return walk_err(w, w->https, "https_port: needs "
			    "https_certs (cert and key files, e.g. certbot's "
			    "fullchain.pem and privkey.pem for *.%s) or acme",
			    c->domain);
	}
	if (c->acme_on && c->https_port == 0)
		return walk_err(w, w->acme, "acme: set https_port too, where "
		    "its certificates serve");
	if (c->acme_on && c->acme.challenge == 0)
		c->acme.challenge = c->http_port != 0 ? CFG_ACME_HTTP_01 :
		    CFG_ACME_TLS_ALPN_01;
	if (c->acme_on && c->acme.challenge == CFG_ACME_HTTP_01 &&
	    c->http_port == 0)
		return walk_err(w, w->challenge, "challenge: http-01 needs "
		    "http_port: the CA checks each name over plain HTTP there "
		    "(port 80 for a public CA)");
	if (c->nhttps_certs > 0 && c->https_port == 0)
		return walk_err(w, w->certs, "https_certs: set https_port too");
	if (c->domain != NULL && c->http_port == 0 && c->https_port == 0)
		return walk_err(w, w->domain, "domain: set http_port or "
		    "https_port too, the port where visitors ask for names "
		    "under it");
	for (i = 0; i < c->nusers; i++) {
		u = &c->users[i];
		for (j = 0; j < u->nhosts; j++) {
			if (cfg_host_name(u->hosts[j], c->domain,
			    name) == -1)
				return walk_err(w, w->marks[i].hosts,
				    "hosts: '%s' is a bare label: it needs a "
				    "domain to go under (or write the full "
				    "name)", u->hosts[j]);
			if (strcmp(name, u->hosts[j]) != 0) {
				if ((p = strdup(name)) == NULL)
					return walk_oom(w);
				free(u->hosts[j]);
				u->hosts[j] = p;
			}
			for (k = 0; k <= i; k++)
				for (l = 0; l < (k == i ? j :
				    c->users[k].nhosts); l++)
					if (strcmp(c->users[k].hosts[l],
					    name) == 0)
						return walk_err(w,
						    w->marks[i].hosts, "hosts: "
						    "'%s' is already a host of "
						    "user '%s' (line %d)", name,
						    c->users[k].username,
						    c->users[k].line);
		}
	}
	return 0;
}

/* Cross-field checks of a server config. */
static int
server_validate(struct walk *w, struct cfg_server *c)
{
	const struct cfg_user *u, *o;
	size_t i, j;
	int port = 0;

	if (c->metrics_listen != NULL) {
		char host[256];

		(void)cfg_split_hostport(c->metrics_listen, host,
		    sizeof(host), &port);
		if (port == c->port)
			return walk_err(w, w->metrics, "metrics_listen: port "
			    "%d is already the main port", port);
		for (i = 0; i < c->nusers; i++)
			if (c->users[i].port == port)
				return walk_err(w, w->metrics,
				    "metrics_listen: port %d is already the "
				    "port of user '%s' (line %zu)", port,
				    c->users[i].username,
				    w->marks[i].port.line + 1);
	}
	for (i = 0; i < c->nusers; i++) {
		u = &c->users[i];
		if (u->port != 0 && u->port == c->port)
			return walk_err(w, w->marks[i].port,
			    "port: %d is already the main port", u->port);
		for (j = 0; j < i; j++) {
			o = &c->users[j];
			if (strcmp(u->username, o->username) == 0)
				return walk_err(w, w->marks[i].username,
				    "duplicate username '%s' (first at line "
				    "%zu)", u->username,
				    w->marks[j].username.line + 1);
			if (u->port != 0 && u->port == o->port)
				return walk_err(w, w->marks[i].port,
				    "port: %d is already the port of user "
				    "'%s' (line %zu)", u->port, o->username,
				    w->marks[j].port.line + 1);
		}
	}
	return front_validate(w, c, port);
}

/*
 * Parses buf and walks its top-level mapping with keys into obj.
 * Return: 0 or -1 with the message in w.
 */
static int
load_doc(struct walk *w, const char *buf, size_t len,
    const struct cfg_key *keys, size_t nkeys, void *obj)
{
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *root;
	int r;

	if (len > CFG_MAX_FILE_SIZE)
		return walk_err_file(w, "larger than %d bytes",
		    CFG_MAX_FILE_SIZE);
	if (prescan(w, buf, len) == -1)
		return -1;
	if (!yaml_parser_initialize(&p))
		return walk_oom(w);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &doc)) {
		r = parser_err(w, &p, buf, len);
		yaml_parser_delete(&p);
		return r;
	}
	yaml_parser_delete(&p);
	w->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || is_null(root))
		r = walk_err_file(w, "empty configuration");
	else if (root->type != YAML_MAPPING_NODE)
		r = walk_err(w, root->start_mark,
		    "expected a mapping of settings (key: value) at the top "
		    "level");
	else
		r = walk_mapping(w, root, keys, nkeys, obj);
	w->doc = NULL;
	yaml_document_delete(&doc);
	return r;
}

static void
walk_init(struct walk *w, const char *name, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->name = name != NULL ? name : "(config)";
	w->err = err;
	w->errlen = err != NULL ? errlen : 0;
	if (w->errlen > 0)
		err[0] = '\0';
}

int
cfg_server_load_mem(const char *name, const char *buf, size_t len,
    struct cfg_server *c, char *err, size_t errlen)
{
	struct cfg_server tmp;
	struct walk w;
	int r;

	walk_init(&w, name, err, errlen);
	cfg_server_init(&tmp);
	r = load_doc(&w, buf, len, server_keys, NELEM(server_keys), &tmp);
	if (r == 0)
		r = server_validate(&w, &tmp);
	if (r == 0 && (tmp.path = strdup(w.name)) == NULL)
		r = walk_oom(&w);
	free(w.marks);
	cfg_server_free(c);
	if (r == -1) {
		cfg_server_free(&tmp);
		cfg_server_init(c);
		errno = w.errnum;
		return -1;
	}
	*c = tmp;
	return 0;
}

int
cfg_client_load_mem(const char *name, const char *buf, size_t len,
    struct cfg_client *c, char *err, size_t errlen)
{
	struct cfg_client tmp;
	struct walk w;
	int r;

	walk_init(&w, name, err, errlen);
	cfg_client_init(&tmp);
	r = load_doc(&w, buf, len, client_keys, NELEM(client_keys), &tmp);
	/* With services, the raw port serves only a local_port written out. */
	if (r == 0 && tmp.nservices > 0 && !tmp.local_port_set)
		tmp.local_port = 0;
	if (r == 0 && (tmp.path = strdup(w.name)) == NULL)
		r = walk_oom(&w);
	cfg_client_free(c);
	if (r == -1) {
		cfg_client_free(&tmp);
		cfg_client_init(c);
		errno = w.errnum;
		return -1;
	}
	*c = tmp;
	return 0;
}

/*
 * Files.
 */

/* Wipes and frees a buffer that may hold passwords. */
static void
free_buf(char *buf, size_t cap)
{
	if (buf != NULL) {
		sys_wipe(buf, cap);
		free(buf);
	}
}

/*
 * Reads a whole regular file of at most CFG_MAX_FILE_SIZE bytes.
 * Return: 0 with *bufp (free with free_buf(*bufp, *capp)), or -1 with
 * errno set and the message in w.
 */
static int
read_file(struct walk *w, const char *path, char **bufp, size_t *lenp,
    size_t *capp)
{
	struct stat st;
	char *buf = NULL, *nbuf;
	size_t len = 0, cap;
	ssize_t n;
	int fd, e;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		w->errnum = errno;
		return walk_err_file(w, "%s", strerror(w->errnum));
	}
	if (fstat(fd, &st) == -1) {
		w->errnum = errno;
		walk_err_file(w, "%s", strerror(w->errnum));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		w->errnum = EISDIR;
		walk_err_file(w, "is a directory, not a configuration file");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		w->errnum = EINVAL;
		walk_err_file(w, "not a regular file (a FIFO, device or "
		    "socket cannot be a configuration file)");
		goto fail;
	}
	if (st.st_size > CFG_MAX_FILE_SIZE) {
		w->errnum = EFBIG;
		walk_err_file(w, "too large (%lld bytes, at most %d)",
		    (long long)st.st_size, CFG_MAX_FILE_SIZE);
		goto fail;
	}
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		walk_oom(w);
		goto fail;
	}
	for (;;) {
		if (len == cap) {
			/* The file grew since fstat (or lied, like /proc). */
			if (cap > CFG_MAX_FILE_SIZE) {
				w->errnum = EFBIG;
				walk_err_file(w, "larger than %d bytes",
				    CFG_MAX_FILE_SIZE);
				goto fail;
			}
			if ((nbuf = malloc(cap * 2)) == NULL) {
				walk_oom(w);
				goto fail;
			}
			memcpy(nbuf, buf, len);
			free_buf(buf, cap);
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			w->errnum = errno;
			walk_err_file(w, "%s", strerror(w->errnum));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(void)close(fd);
	*bufp = buf;
	*lenp = len;
	*capp = cap;
	return 0;
fail:
	e = w->errnum;
	free_buf(buf, buf != NULL ? cap : 0);
	(void)close(fd);
	errno = e;
	return -1;
}

/*
 * Reads path whole, then hands it to load_mem; on a read error resets the
 * struct to its defaults (reset) as load_mem would on a parse error.
 */
static int
load_file(const char *path, void *c, char *err, size_t errlen,
    int (*load_mem)(const char *, const char *, size_t, void *, char *,
    size_t), void (*reset)(void *))
{
	struct walk w;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int r, e;

	walk_init(&w, path, err, errlen);
	if (read_file(&w, path, &buf, &len, &cap) == -1) {
		e = errno;
		reset(c);
		errno = e;
		return -1;
	}
	r = load_mem(path, buf, len, c, err, errlen);
	e = errno;
	free_buf(buf, cap);
	errno = e;
	return r;
}

static int
server_load_mem(const char *name, const char *buf, size_t len, void *c,
    char *err, size_t errlen)
{
	return cfg_server_load_mem(name, buf, len, c, err, errlen);
}

static void
server_reset(void *c)
{
	cfg_server_free(c);
	cfg_server_init(c);
}

static int
client_load_mem(const char *name, const char *buf, size_t len, void *c,
    char *err, size_t errlen)
{
	return cfg_client_load_mem(name, buf, len, c, err, errlen);
}

static void
client_reset(void *c)
{
	cfg_client_free(c);
	cfg_client_init(c);
}

int
cfg_server_load(const char *path, struct cfg_server *c, char *err,
    size_t errlen)
{
	return load_file(path, c, err, errlen, server_load_mem, server_reset);
}

int
cfg_client_load(const char *path, struct cfg_client *c, char *err,
    size_t errlen)
{
	return load_file(path, c, err, errlen, client_load_mem, client_reset);
}

int
cfg_split_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char *h, *p, *close;
	size_t hl, i;
	long n;

	if (s == NULL || host == NULL || port == NULL)
		goto bad;
	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL || close[1] != ':')
			goto bad;
		h = s + 1;
		hl = (size_t)(close - h);
		p = close + 2;
		if (memchr(h, ':', hl) == NULL)
			goto bad;	/* brackets are for IPv6 */
	} else {
		if ((p = strchr(s, ':')) == NULL || strchr(p + 1, ':') != NULL)
			goto bad;	/* "::1:80" needs brackets */
		h = s;
		hl = (size_t)(p - s);
		p++;
	}
	if (hl == 0 || hl >= hostlen)
		goto bad;
	for (i = 0; i < hl; i++)
		if ((unsigned char)h[i] <= 0x20 || h[i] == 0x7f ||
		    h[i] == '[' || h[i] == ']' || h[i] == '/')
			goto bad;
	n = 0;
	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] < '0' || p[i] > '9' || i >= 5)
			goto bad;
		n = n * 10 + (p[i] - '0');
	}
	if (i == 0 || n < 1 || n > 65535)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)n;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/*
 * Writing.
 */

struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	char *np;
	size_t ncap;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 1024;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		/* Not realloc: the old copy may hold a password. */
		if ((np = malloc(ncap)) == NULL) {
			b->failed = 1;
			return;
		}
		if (b->p != NULL)
			memcpy(np, b->p, b->len);
		free_buf(b->p, b->cap);
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void	sb_printf(struct sbuf *, const char *, ...)
		    __attribute__((format(TUNNEL_PRINTF, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->failed = 1;
	else
		sb_add(b, tmp, (size_t)n);
}

/*
 * Decodes one UTF-8 sequence at s (n bytes left), strictly: no overlong
 * forms, no surrogates, nothing above U+10FFFF. Return: its length with
 * the code point in *cp, or 0 if invalid.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * Appends s as a YAML double-quoted scalar: backslash and double quote
 * escaped, control characters, YAML line breaks (U+0085, U+2028, U+2029)
 * and BOMs as \xNN / \uNNNN, other UTF-8 as is. Return: 0, or -1 if s is
 * not valid UTF-8 (it could not round-trip).
 */
static int
sb_quote(struct sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i, len;
	uint32_t cp;
	char esc[16];

	sb_add(b, "\"", 1);
	for (i = 0; i < n; i += len) {
		if ((len = utf8_decode(p + i, n - i, &cp)) == 0)
			return -1;
		if (cp == '"' || cp == '\\') {
			esc[0] = '\\';
			esc[1] = (char)cp;
			sb_add(b, esc, 2);
		} else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			sb_printf(b, "\\x%02X", (unsigned int)cp);
		else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff ||
		    cp == 0xfffe || cp == 0xffff)
			sb_printf(b, "\\u%04X", (unsigned int)cp);
		else
			sb_add(b, (const char *)p + i, len);
	}
	sb_add(b, "\"", 1);
	return 0;
}

/* Makes a rename in path's directory durable; best effort. */
static void
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		(void)close(fd);
	}
	free(dir);
}

static void	set_err(char *, size_t, const char *, ...)
		    __attribute__((format(TUNNEL_PRINTF, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
cfg_server_write_default(const char *path, const char *password_hash,
    char *err, size_t errlen)
{
	struct cfg_server check;
	struct sbuf b = { 0 };
	int fd, e, r = -1;

	if (path == NULL || password_hash == NULL) {
		set_err(err, errlen, "no path or password hash");
		errno = EINVAL;
		return -1;
	}
	sb_printf(&b,
	    "# tunnel-server configuration, written at first start.\n"
	    "# Every key but users is optional; tunnel-server-config.yaml."
	    "example\n# explains them all.\n");
	sb_printf(&b, "port: %d            # tunnel port; also public "
	    "traffic\n", CFG_DEFAULT_PORT);
	sb_printf(&b, "pool_size: %d         # idle proxy connections each "
	    "client keeps\n", CFG_DEFAULT_POOL_SIZE);
	sb_printf(&b, "connect_timeout: %d   # seconds a public connection "
	    "may wait for a proxy\n", CFG_DEFAULT_CONNECT_TIMEOUT);
	sb_printf(&b, "users:\n  - username: admin\n    # crypt(3) hash; "
	    "make another with: tunnel-server --hash-password\n"
	    "    password: ");
	if (sb_quote(&b, password_hash) == -1) {
		set_err(err, errlen, "%s: the password hash is not UTF-8 "
		    "text", path);
		errno = EINVAL;
		goto out;
	}
	sb_printf(&b, "\n    # port: 8080      # optional dedicated public "
	    "port for this user\n");
	sb_printf(&b, "log:\n  enable: true\n  path: %s          # writes "
	    "%s/info.log as well as stderr\n", CFG_DEFAULT_LOG_PATH,
	    CFG_DEFAULT_LOG_PATH);
	if (b.failed) {
		set_err(err, errlen, "%s: out of memory", path);
		errno = ENOMEM;
		goto out;
	}
	/* What we write must load. */
	cfg_server_init(&check);
	e = cfg_server_load_mem(path, b.p, b.len, &check, err, errlen);
	cfg_server_free(&check);
	if (e == -1)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		e = errno;
		set_err(err, errlen, "%s: cannot create: %s", path,
		    strerror(e));
		errno = e;
		goto out;
	}
	if (fd_write_all(fd, b.p, b.len) == -1 || fsync(fd) == -1) {
		e = errno;
		(void)close(fd);
		(void)unlink(path);
		set_err(err, errlen, "%s: cannot write: %s", path,
		    strerror(e));
		errno = e;
		goto out;
	}
	if (close(fd) == -1) {
		e = errno;
		(void)unlink(path);
		set_err(err, errlen, "%s: cannot write: %s", path,
		    strerror(e));
		errno = e;
		goto out;
	}
	sync_dir(path);
	r = 0;
out:
	e = errno;
	free_buf(b.p, b.cap);
	errno = e;
	return r;
}

/*
 * Appends "key: "value"\n". A NULL value is skipped unless required.
 * Return: 0, or -1 with the reason in err.
 */
static int
put_str(struct sbuf *b, const char *path, const char *key, const char *v,
    int required, char *err, size_t errlen)
{
	if (v == NULL) {
		if (!required)
			return 0;
		set_err(err, errlen, "%s: cannot save: %s is not set", path,
		    key);
		errno = EINVAL;
		return -1;
	}
	sb_printf(b, "%s: ", key);
	if (sb_quote(b, v) == -1) {
		set_err(err, errlen, "%s: cannot save: %s is not valid UTF-8",
		    path, key);
		errno = EINVAL;
		return -1;
	}
	sb_add(b, "\n", 1);
	return 0;
}

/*
 * Replaces the client config at path with buf[0..len), with mode, once it
 * loads: never a file the client would refuse, never half a file.
 */
static int
replace_checked(const char *path, const char *buf, size_t len, mode_t mode,
    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct cfg_client check;
	char *tmp = NULL;
	int fd = -1, e, r = -1;

	cfg_client_init(&check);
	e = cfg_client_load_mem(path, buf, len, &check, err, errlen);
	cfg_client_free(&check);
	if (e == -1)
		return -1;
	if ((tmp = malloc(strlen(path) + sizeof(".tmp.XXXXXX"))) == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		errno = ENOMEM;
		return -1;
	}
	strcpy(tmp, path);
	strcat(tmp, ".tmp.XXXXXX");
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		e = errno;
		set_err(err, errlen, "%s: cannot create a temporary file: %s",
		    path, strerror(e));
		free(tmp);
		errno = e;
		return -1;
	}
	/* The owner kept too (root editing a user's file); EPERM: not root. */
	if (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1 && errno != EPERM) {
		e = errno;
		set_err(err, errlen, "%s: cannot keep its owner: %s", path,
		    strerror(e));
		goto fail;
	}
	if (fchmod(fd, mode) == -1 || fd_write_all(fd, buf, len) == -1 ||
	    fsync(fd) == -1) {
		e = errno;
		set_err(err, errlen, "%s: cannot write %s: %s", path, tmp,
		    strerror(e));
		goto fail;
	}
	e = close(fd);
	fd = -1;
	if (e == -1 || rename(tmp, path) == -1) {
		e = errno;
		set_err(err, errlen, "%s: cannot write: %s", path,
		    strerror(e));
		goto fail;
	}
	sync_dir(path);
	free(tmp);
	return 0;
fail:
	if (fd != -1)
		(void)close(fd);
	(void)unlink(tmp);
	free(tmp);
	errno = e;
	return r;
}

int
cfg_client_save(const char *path, const struct cfg_client *c, char *err,
    size_t errlen)
{
	struct sbuf b = { 0 };
	int e, r = -1;

	if (path == NULL || c == NULL) {
		set_err(err, errlen, "nothing to save");
		errno = EINVAL;
		return -1;
	}
	sb_printf(&b, "# tunnel-client configuration (written by "
	    "tunnel-client).\n");
	if (put_str(&b, path, "server_addr", c->server_addr, 1, err,
	    errlen) == -1 ||
	    put_str(&b, path, "local_host", c->local_host, 0, err,
	    errlen) == -1)
		goto out;
	sb_printf(&b, "local_port: %d\n", c->local_port);
	sb_printf(&b, "connect_timeout: %d\n", c->connect_timeout);
	if (c->shutdown_grace != CFG_DEFAULT_SHUTDOWN_GRACE)
		sb_printf(&b, "shutdown_grace: %d\n", c->shutdown_grace);
	if (put_str(&b, path, "username", c->username, 1, err,
	    errlen) == -1 ||
	    put_str(&b, path, "password", c->password, 1, err,
	    errlen) == -1 ||
	    put_str(&b, path, "log_level", c->log_level, 0, err,
	    errlen) == -1)
		goto out;
	if (c->transport != CFG_TRANSPORT_TLS)
		sb_printf(&b, "transport: %s\n",
		    cfg_transport_str(c->transport));
	if (c->proxy_protocol != PROXYPROTO_OFF)
		sb_printf(&b, "proxy_protocol: %s\n",
		    proxyproto_str(c->proxy_protocol));
	if (put_str(&b, path, "server_fingerprint", c->server_fingerprint, 0,
	    err, errlen) == -1 ||
	    put_str(&b, path, "login_setting", c->login_setting, 0, err,
	    errlen) == -1)
		goto out;
	if (b.failed) {
		set_err(err, errlen, "%s: out of memory", path);
		errno = ENOMEM;
		goto out;
	}
	r = replace_checked(path, b.p, b.len, 0600, (uid_t)-1, (gid_t)-1, err,
	    errlen);
out:
	e = errno;
	free_buf(b.p, b.cap);
	errno = e;
	return r;
}

int
cfg_client_append(const char *path, const char *comment, const char *key,
    const char *value, char *err, size_t errlen)
{
	struct cfg_client check;
	struct sbuf b = { 0 };
	struct stat st;
	char chunk[4096], *real;
	size_t old;
	ssize_t n;
	int fd, e, r = -1;

	/* A symlinked config (dotfiles, stow) is updated where it lives. */
	if ((real = realpath(path, NULL)) == NULL) {
		e = errno;
		set_err(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if ((fd = open(real, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		e = errno;
		set_err(err, errlen, "%s: %s", path, strerror(e));
		if (fd != -1)
			(void)close(fd);
		free(real);
		errno = e;
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 &&
	    b.len + (size_t)n <= CFG_MAX_FILE_SIZE)
		sb_add(&b, chunk, (size_t)n);
	e = errno;
	(void)close(fd);
	if (n != 0) {
		set_err(err, errlen, "%s: %s", path, n < 0 ? strerror(e) :
		    "file too large");
		errno = n < 0 ? e : EFBIG;
		goto out;
	}
	old = b.len;
	if (b.len > 0 && b.p[b.len - 1] != '\n')
		sb_add(&b, "\n", 1);
	if (comment != NULL)
		sb_printf(&b, "# %s\n", comment);
	if (put_str(&b, path, key, value, 1, err, errlen) == -1)
		goto out;
	if (b.failed) {
		set_err(err, errlen, "%s: out of memory", path);
		errno = ENOMEM;
		goto out;
	}
	if (st.st_nlink > 1) {
		/*
		 * A rename would split its hard links: append in place,
		 * once the whole loads.
		 */
		cfg_client_init(&check);
		e = cfg_client_load_mem(path, b.p, b.len, &check, err,
		    errlen);
		cfg_client_free(&check);
		if (e == -1)
			goto out;
		if ((fd = open(real, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1 ||
		    fd_write_all(fd, b.p + old, b.len - old) == -1 ||
		    fsync(fd) == -1) {
			e = errno;
			set_err(err, errlen, "%s: cannot append: %s", path,
			    strerror(e));
			if (fd != -1)
				(void)close(fd);
			errno = e;
			goto out;
		}
		r = close(fd) == -1 ? -1 : 0;
		goto out;
	}
	/* The user's file, mode and owner: only what we add is ours. */
	r = replace_checked(real, b.p, b.len, st.st_mode & 07777, st.st_uid,
	    st.st_gid, err, errlen);
out:
	e = errno;
	free(real);
	free_buf(b.p, b.cap);
	errno = e;
	return r;
}
