/*
 * tunnel-client: arguments, the config file (or the first-run questions
 * that write it), logging and the loop. The tunnel itself is client.c and
 * client_pool.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "client.h"
#include "config.h"
#include "front_sniff.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "proxyproto.h"
#include "tls.h"
#include "tty.h"
#include "sys.h"

#define DEFAULT_SERVER	"127.0.0.1:3339"
#define DEFAULT_USER	"admin"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: tunnel-client [-c FILE] [-d] [-n] [--no-splice]\n"
"       tunnel-client -s HOST:PORT -u USER [-p LOCAL_PORT] [-l LOCAL_HOST]\n"
"                     [--host NAME [--passthrough] -p LOCAL_PORT]...\n"
"                     (password from $TUNNEL_PASSWORD or --password-file)\n"
"\n"
"Carries connections that reach the tunnel-server to a local service.\n"
"\n"
"  -c, --config FILE     configuration file (default %s;\n"
"                        -config FILE works too). Missing and run from a\n"
"                        terminal: a few questions, then it is written\n"
"                        with mode 0600\n"
"  -s, --server ADDR     server address, host:port\n"
"  -u, --user NAME       username\n"
"  -p, --local-port N    local service port (default 8000)\n"
"  -l, --local-host H    local service host (default 127.0.0.1)\n"
"  --host NAME           serve the server's name NAME (a label under its\n"
"                        domain, or a full name) with the local port of\n"
"                        the -p that follows; repeatable. These replace\n"
"                        the file's services, and the raw port then\n"
"                        serves only a -p given before any --host\n"
"  --passthrough         the --host before it gets the visitor's TLS as it\n"
"                        is (its local service holds the certificate)\n"
"  --password-file FILE  read the password from the first line of FILE\n"
"  --shutdown-grace N    on SIGTERM/SIGINT, let bridged visitors finish\n"
"                        for up to N seconds (default 10; 0 = reset them)\n"
"  --fingerprint FP      trust only the server key FP (SHA256:..., from\n"
"                        tunnel-server --fingerprint), or \"ca\"; without\n"
"                        it the first key seen is trusted and remembered\n"
"  --transport T         tls (default) or plain, as the server's config\n"
"  --proxy-protocol V    v1 or v2: tell the local service each visitor's\n"
"                        address in a PROXY protocol header (nginx's\n"
"                        proxy_protocol, HAProxy's accept-proxy); off\n"
"                        (default) sends none\n"
"  -d, --debug           log at debug level\n"
"  -n, --check           check the configuration (file or flags), print\n"
"                        \"configuration OK\" and exit; nothing is asked\n"
"                        or written, no connection is made\n"
"  --no-splice           copy bytes through user space (diagnosis only)\n"
"  -h, --help            this help\n"
"  -V, --version         print the version\n", CFG_DEFAULT_CLIENT_FILE);
}

/* Asks until valid: returns 0, or -1 on EOF (nothing is saved then). */
static int
ask(const char *question, const char *def, int echo, char *buf, size_t len,
    int (*valid)(const char *, char *, size_t))
{
	char prompt[256], why[160];

	for (;;) {
		if (def != NULL)
			(void)snprintf(prompt, sizeof(prompt), "%s [%s]: ",
			    question, def);
		else
			(void)snprintf(prompt, sizeof(prompt), "%s: ", question);
		if (tty_read_line(prompt, echo, buf, len) == -1) {
			/* EMSGSIZE: the line was too long and was dropped. */
			if (errno == EMSGSIZE) {
				fprintf(stderr, "  too long, try again\n");
				continue;
			}
			return -1;
		}
		if (buf[0] == '\0' && def != NULL)
			(void)snprintf(buf, len, "%s", def);
		if (valid(buf, why, sizeof(why)) == 0)
			return 0;
		fprintf(stderr, "  %s\n", why);
	}
}

static int
valid_server(const char *s, char *why, size_t len)
{
	char host[256];
	int port;

	if (cfg_split_hostport(s, host, sizeof(host), &port) == 0)
		return 0;
	(void)snprintf(why, len, "expected host:port, e.g. example.com:3339 "
	    "or [2001:db8::1]:3339");
	return -1;
}

static int
parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int
valid_port(const char *s, char *why, size_t len)
{
	int v;

	if (parse_int(s, 1, 65535, &v) == 0)
		return 0;
	(void)snprintf(why, len, "a port is a number from 1 to 65535");
	return -1;
}

static int
valid_timeout(const char *s, char *why, size_t len)
{
	int v;

	if (parse_int(s, 1, 3600, &v) == 0)
		return 0;
	(void)snprintf(why, len, "a number of seconds from 1 to 3600");
	return -1;
}

static int
valid_user(const char *s, char *why, size_t len)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == 0x7f)
			break;
	if (n > 0 && n <= PROTO_MAX_USER && i == n)
		return 0;
	(void)snprintf(why, len, "1 to %d characters, no spaces",
	    PROTO_MAX_USER);
	return -1;
}

static int
valid_password(const char *s, char *why, size_t len)
{
	if (s[0] != '\0')
		return 0;
	(void)snprintf(why, len, "the password cannot be empty");
	return -1;
}

/* First run from a terminal: ask, then save the file with mode 0600. */
static int
wizard(const char *path, struct cfg_client *cfg)
{
	char server[300], port[16], timeout[16], user[PROTO_MAX_USER + 2];
	char pw[512], err[512], def_timeout[16];

	fprintf(stderr, "No %s yet: a few questions, then it is saved.\n",
	    path);
	(void)snprintf(def_timeout, sizeof(def_timeout), "%d",
	    CFG_DEFAULT_CLIENT_TIMEOUT);
	if (ask("Server address (host:port)", DEFAULT_SERVER, 1, server,
	    sizeof(server), valid_server) == -1 ||
	    ask("Local port to expose", "8000", 1, port, sizeof(port),
	    valid_port) == -1 ||
	    ask("Connect timeout in seconds", def_timeout, 1, timeout,
	    sizeof(timeout), valid_timeout) == -1 ||
	    ask("Username", DEFAULT_USER, 1, user, sizeof(user),
	    valid_user) == -1 ||
	    ask("Password", NULL, 0, pw, sizeof(pw), valid_password) == -1) {
		auth_wipe(pw, sizeof(pw));
		fprintf(stderr, "\ntunnel-client: input ended; nothing "
		    "saved\n");
		return -1;
	}
	free(cfg->server_addr);
	free(cfg->username);
	free(cfg->password);
	cfg->server_addr = strdup(server);
	cfg->username = strdup(user);
	cfg->password = strdup(pw);
	auth_wipe(pw, sizeof(pw));
	(void)parse_int(port, 1, 65535, &cfg->local_port);
	(void)parse_int(timeout, 1, 3600, &cfg->connect_timeout);
	if (cfg->server_addr == NULL || cfg->username == NULL ||
	    cfg->password == NULL) {
		fprintf(stderr, "tunnel-client: out of memory\n");
		return -1;
	}
	if (cfg_client_save(path, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "tunnel-client: %s\n", err);
		return -1;
	}
	fprintf(stderr, "Saved %s (mode 0600). Edit it or delete it to be "
	    "asked again.\n", path);
	return 0;
}

static int
read_password_file(const char *file, struct cfg_client *cfg)
{
	char line[512];
	FILE *f = fopen(file, "re");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "tunnel-client: %s: %s\n", file,
		    strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	(void)fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "tunnel-client: %s: empty password\n", file);
		return -1;
	}
	free(cfg->password);
	cfg->password = strdup(line);
	auth_wipe(line, sizeof(line));
	return cfg->password != NULL ? 0 : -1;
}

/* What the signal handler needs: the file, and what flags override. */
struct daemon {
	struct cli	*cli;
	const char	*path;		/* NULL: flags mode, no file */
	int		 debug;		/* -d: the level stays debug */
	int		 o_port, o_host, o_grace;	/* set by flags */
	int		 o_svc;				/* --host given */
	int		 o_transport, o_fp, o_pp;
};

/* A key only a restart changes: said, not applied. */
/*
 * The services' local ports and hosts change live; their names were told
 * to the server at login, so new, removed or renamed ones wait for a
 * restart.
 */
static void
reload_services(struct cli *c, struct cfg_client *run,
    struct cfg_client *next)
{
	struct cfg_service *a, *b;
	char err[512];
	size_t i;
	int same = next->nservices == run->nservices;

	for (i = 0; same && i < run->nservices; i++)
		same = strcmp(run->services[i].host, next->services[i].host) ==
		    0 && run->services[i].passthrough ==
		    next->services[i].passthrough;
	if (!same) {
		log_warnx("reload: the services' host names and passthrough "
		    "stay as they are until a restart (the server learns them "
		    "at login); their local ports and hosts may change");
		return;
	}
	for (i = 0; i < run->nservices; i++) {
		a = &run->services[i];
		b = &next->services[i];
		if (a->local_port == b->local_port &&
		    strcmp(a->local_host, b->local_host) == 0)
			continue;
		if (cli_set_service(c, i + 1, b->host, b->local_host,
		    b->local_port, a->passthrough, err, sizeof(err)) == -1) {
			log_error("reload: %s; service %s stays", err, a->host);
			continue;
		}
		a->local_port = b->local_port;
		free(a->local_host);
		a->local_host = b->local_host;
		b->local_host = NULL;
		log_info("reload: new visitors of %s go to %s", a->host,
		    c->locals[i + 1].desc);
	}
}

static void
restart_only(const char *key, const char *was, const char *now)
{
	if ((was == NULL) != (now == NULL) ||
	    (was != NULL && strcmp(was, now) != 0))
		log_warnx("reload: %s changed; it takes effect when "
		    "tunnel-client restarts", key);
}

/*
 * SIGHUP: the config file is read again. The local service (local_host,
 * local_port), the log level and the timeouts change live; the server,
 * the account and the transport belong to the running session and wait
 * for a restart. Flags given at start keep winning over the file.
 */
static void
reload(struct daemon *d)
{
	struct cli *c = d->cli;
	struct cfg_client *run = c->cfg, next;
	enum log_level level = LOG_INFO;
	char err[1024];
	const char *host;
	int port;

	if (d->path == NULL) {
		log_info("SIGHUP: no configuration file (flags mode): nothing "
		    "to reload");
		return;
	}
	log_info("SIGHUP: reading %s again", d->path);
	cfg_client_init(&next);
	if (cfg_client_load(d->path, &next, err, sizeof(err)) == -1) {
		log_error("reload: %s; the running configuration stays", err);
		cfg_client_free(&next);
		return;
	}
	restart_only("server_addr", run->server_addr, next.server_addr);
	restart_only("username", run->username, next.username);
	restart_only("password", run->password, next.password);
	/* A flag given at start wins again at a restart: nothing to say. */
	if (!d->o_transport)
		restart_only("transport", cfg_transport_str(run->transport),
		    cfg_transport_str(next.transport));
	if (!d->o_fp)
		restart_only("server_fingerprint", run->server_fingerprint,
		    next.server_fingerprint);
	host = d->o_host ? run->local_host : next.local_host;
	/* --host without a raw -p made the raw port serve nothing: still. */
	port = d->o_port || d->o_svc ? run->local_port : next.local_port;
	if (d->o_host && strcmp(next.local_host, run->local_host) != 0)
		log_warnx("reload: local_host stays %s (set by -l at start)",
		    run->local_host);
	if (d->o_port && next.local_port != run->local_port)
		log_warnx("reload: local_port stays %d (set by -p at start)",
		    run->local_port);
	if (strcmp(host, run->local_host) != 0 || port != run->local_port) {
		if (cli_set_local(c, host, port, err, sizeof(err)) == -1) {
			log_error("reload: %s; the running configuration stays",
			    err);
			cfg_client_free(&next);
			return;
		}
		if (host != run->local_host) {
			char *t = run->local_host;

			run->local_host = next.local_host;
			next.local_host = t;
		}
		run->local_port = port;
		log_info("reload: new visitors go to %s (bridged ones stay "
		    "where they are)", c->locals[0].desc);
	}
	if (!d->o_svc)
		reload_services(c, run, &next);
	if (run->connect_timeout != next.connect_timeout)
		log_info("reload: connect_timeout %d -> %d",
		    run->connect_timeout, next.connect_timeout);
	run->connect_timeout = next.connect_timeout;
	if (d->o_pp && next.proxy_protocol != run->proxy_protocol)
		log_warnx("reload: proxy_protocol stays %s (set by "
		    "--proxy-protocol at start)",
		    proxyproto_str(run->proxy_protocol));
	else if (next.proxy_protocol != run->proxy_protocol) {
		log_info("reload: proxy_protocol %s -> %s (for new visitors)",
		    proxyproto_str(run->proxy_protocol),
		    proxyproto_str(next.proxy_protocol));
		run->proxy_protocol = next.proxy_protocol;
	}
	if (!d->o_grace)
		run->shutdown_grace = next.shutdown_grace;
	if (!d->debug && next.log_level != NULL &&
	    log_level_parse(next.log_level, &level) == 0)
		log_set_level(level);
	log_info("reload: done");
	cfg_client_free(&next);
}

/*
 * HUP reloads. TERM and INT stop gracefully (cli_drain); a second one
 * during the grace stops at once, as a second Ctrl-C is expected to.
 */
static void
on_signal(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;
	struct cli *c = d->cli;

	if (signo == SIGHUP) {
		reload(d);
		return;
	}
	if (loop_timer_armed(&c->grace)) {
		log_info("%s again: stopping now", strsignal(signo));
		cli_stop(c);
		loop_stop(l);
		return;
	}
	log_info("%s: shutting down", strsignal(signo));
	if (cli_drain(c))
		loop_stop(l);
}

static int
set_string(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	return *field != NULL ? 0 : -1;
}

/* A --host NAME -p PORT pair; port 0 until its -p comes. */
struct flag_service {
	char	name[FRONT_MAX_NAME + 2];	/* a final dot kept */
	int	port;
	int	passthrough;
};

/*
 * The services of --host pairs replace the file's. Without a -p of its
 * own, the raw port serves nothing unless the file's local_port says
 * otherwise. Return: 0, or -1 after saying why.
 */
static int
set_services(struct cfg_client *cfg, const struct flag_service *fs, size_t n,
    const char *local_host, int raw_port)
{
	struct cfg_service *sv;
	size_t i;

	for (i = 0; i < n; i++)
		if (fs[i].port == 0) {
			fprintf(stderr, "tunnel-client: --host %s needs a "
			    "-p PORT after it\n", fs[i].name);
			return -1;
		}
	if ((sv = calloc(n, sizeof(*sv))) == NULL) {
		fprintf(stderr, "tunnel-client: out of memory\n");
		return -1;
	}
	for (i = 0; i < n; i++) {
		sv[i].local_port = fs[i].port;
		sv[i].passthrough = fs[i].passthrough;
		sv[i].host = strdup(fs[i].name);
		sv[i].local_host = strdup(local_host != NULL ? local_host :
		    "127.0.0.1");
		if (sv[i].host == NULL || sv[i].local_host == NULL) {
			fprintf(stderr, "tunnel-client: out of memory\n");
			n = i + 1;
			break;
		}
	}
	for (i = 0; i < cfg->nservices; i++) {
		free(cfg->services[i].host);
		free(cfg->services[i].local_host);
	}
	free(cfg->services);
	cfg->services = sv;
	cfg->nservices = n;
	if (sv[n - 1].host == NULL || sv[n - 1].local_host == NULL)
		return -1;
	if (!raw_port && !cfg->local_port_set)
		cfg->local_port = 0;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = CFG_DEFAULT_CLIENT_FILE, *pwfile = NULL;
	const char *o_server = NULL, *o_user = NULL, *o_host = NULL;
	const char *o_fp = NULL, *cfg_path = NULL;
	int o_transport = -1, o_pp = -1;
	/* Windows has no SIGHUP (compat.h): it never comes there. */
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	int o_port = 0, o_grace = -1, i, debug = 0, no_splice = 0, rc, explicit = 0;
	int check = 0;
	struct flag_service o_svc[CFG_MAX_HOSTS];
	size_t n_svc = 0;
	struct cfg_client cfg;
	enum log_level level = LOG_INFO;
	struct loop *l;
	struct cli c;
	struct daemon d;
	char err[1024];

	if (sys_init() == -1) {
		fprintf(stderr, "tunnel-client: %s\n", strerror(errno));
		return 1;
	}
	/* A helper process (client_helper.c): this binary, run again. */
	if ((rc = cli_helper_main(argc, argv)) != -1)
		return rc;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;

		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ||
		    strcmp(a, "-config") == 0) {
			path = v;
			explicit = 1;
		} else if (strcmp(a, "-s") == 0 || strcmp(a, "--server") == 0)
			o_server = v;
		else if (strcmp(a, "-u") == 0 || strcmp(a, "--user") == 0)
			o_user = v;
		else if (strcmp(a, "-l") == 0 || strcmp(a, "--local-host") == 0)
			o_host = v;
		else if (strcmp(a, "--password-file") == 0)
			pwfile = v;
		else if (strcmp(a, "--fingerprint") == 0) {
			if (v != NULL && !tls_fp_valid(v) &&
			    strcmp(v, CFG_FP_CA) != 0) {
				fprintf(stderr, "tunnel-client: %s: '%s' is not "
				    "a key fingerprint (SHA256: and 43 base64 "
				    "characters, as tunnel-server --fingerprint "
				    "prints it) nor \"ca\"\n", a, v);
				return 2;
			}
			o_fp = v;
		} else if (strcmp(a, "--transport") == 0) {
			if (v != NULL && strcmp(v, "tls") == 0)
				o_transport = CFG_TRANSPORT_TLS;
			else if (v != NULL && strcmp(v, "plain") == 0)
				o_transport = CFG_TRANSPORT_PLAIN;
			else if (v != NULL) {
				fprintf(stderr, "tunnel-client: %s: '%s' is not "
				    "tls or plain\n", a, v);
				return 2;
			}
		}
		else if (strcmp(a, "--proxy-protocol") == 0) {
			if (v != NULL &&
			    cfg_proxy_protocol_parse(v, &o_pp) == -1) {
				fprintf(stderr, "tunnel-client: %s: '%s' is not "
				    "v1, v2 or off\n", a, v);
				return 2;
			}
		} else if (strcmp(a, "--host") == 0) {
			if (v == NULL)
				;
			else if (n_svc == CFG_MAX_HOSTS) {
				fprintf(stderr, "tunnel-client: --host: at most "
				    "%d\n", CFG_MAX_HOSTS);
				return 2;
			} else if (cfg_host_written(v, strlen(v),
			    o_svc[n_svc].name) == -1) {
				fprintf(stderr, "tunnel-client: --host: '%s' is "
				    "not a host name\n", v);
				return 2;
			} else {
				size_t j;

				for (j = 0; j < n_svc; j++)
					if (strcmp(o_svc[j].name,
					    o_svc[n_svc].name) == 0)
						break;
				if (j < n_svc) {
					fprintf(stderr, "tunnel-client: --host "
					    "%s: given twice\n", v);
					return 2;
				}
				o_svc[n_svc].passthrough = 0;
				o_svc[n_svc++].port = 0;
			}
		} else if (strcmp(a, "-p") == 0 ||
		    strcmp(a, "--local-port") == 0) {
			int *to = n_svc > 0 && o_svc[n_svc - 1].port == 0 ?
			    &o_svc[n_svc - 1].port : &o_port;

			/* The raw port's -p comes before any --host. */
			if (n_svc > 0 && to == &o_port) {
				fprintf(stderr, "tunnel-client: %s %s: each "
				    "--host takes the one -p after it; give the "
				    "raw port's -p before the first --host\n",
				    a, v != NULL ? v : "");
				return 2;
			}

			if (v != NULL && parse_int(v, 1, 65535, to) == -1) {
				fprintf(stderr, "tunnel-client: %s: '%s' is not "
				    "a port (1..65535)\n", a, v);
				return 2;
			}
		} else if (strcmp(a, "--shutdown-grace") == 0) {
			if (v != NULL && parse_int(v, 0, CFG_MAX_SHUTDOWN_GRACE,
			    &o_grace) == -1) {
				fprintf(stderr, "tunnel-client: %s: '%s' is not "
				    "a number of seconds (0..%d)\n", a, v,
				    CFG_MAX_SHUTDOWN_GRACE);
				return 2;
			}
		} else {
			takes = 0;
			if (strcmp(a, "-d") == 0 || strcmp(a, "--debug") == 0)
				debug = 1;
			else if (strcmp(a, "--passthrough") == 0) {
				if (n_svc == 0) {
					fprintf(stderr, "tunnel-client: "
					    "--passthrough: comes after the "
					    "--host it is for\n");
					return 2;
				}
				o_svc[n_svc - 1].passthrough = 1;
			}
			else if (strcmp(a, "-n") == 0 ||
			    strcmp(a, "--check") == 0)
				check = 1;
			else if (strcmp(a, "--no-splice") == 0)
				no_splice = 1;
			else if (strcmp(a, "-h") == 0 ||
			    strcmp(a, "--help") == 0) {
				usage(stdout);
				return 0;
			} else if (strcmp(a, "-V") == 0 ||
			    strcmp(a, "--version") == 0) {
				printf("tunnel-client %s (protocol %d, %s, "
				    "%s)\n", TUNNEL_VERSION, PROTO_VERSION,
				    loop_backend_name(),
				    sys_can_splice() ? "splice" : "copy");
				return 0;
			} else {
				fprintf(stderr, "tunnel-client: unknown "
				    "argument '%s' (try --help)\n", a);
				return 2;
			}
		}
		if (takes) {
			if (v == NULL) {
				fprintf(stderr, "tunnel-client: %s needs a "
				    "value\n", a);
				return 2;
			}
			i++;
		}
	}

	if (path == NULL || *path == '\0') {
		fprintf(stderr, "tunnel-client: empty configuration file "
		    "name\n");
		return 2;
	}
	cfg_client_init(&cfg);
	if (o_server != NULL || o_user != NULL) {
		/* Everything from flags: no file is read or written. */
		const char *env = getenv("TUNNEL_PASSWORD");

		if (o_server == NULL || o_user == NULL) {
			fprintf(stderr, "tunnel-client: --server and --user go "
			    "together\n");
			goto usage_error;
		}
		if (valid_server(o_server, err, sizeof(err)) == -1 ||
		    valid_user(o_user, err, sizeof(err)) == -1) {
			fprintf(stderr, "tunnel-client: %s\n", err);
			goto usage_error;
		}
		if (set_string(&cfg.server_addr, o_server) == -1 ||
		    set_string(&cfg.username, o_user) == -1)
			goto fail;
		if (pwfile != NULL) {
			if (read_password_file(pwfile, &cfg) == -1)
				goto usage_error;
		} else if (env != NULL && *env != '\0') {
			if (set_string(&cfg.password, env) == -1)
				goto fail;
		} else {
			fprintf(stderr, "tunnel-client: give the password in "
			    "$TUNNEL_PASSWORD or with --password-file\n");
			goto usage_error;
		}
	} else if (cfg_client_load(path, &cfg, err, sizeof(err)) == -1) {
		if (errno != ENOENT) {
			fprintf(stderr, "tunnel-client: %s\n", err);
			goto usage_error;
		}
		if (check || !tty_is_interactive()) {
			fprintf(stderr, "tunnel-client: %s not found%s. Run "
			    "tunnel-client from a terminal once to answer a "
			    "few questions, write the file by hand (see "
			    "tunnel-client-config.yaml.example), or pass "
			    "--server HOST:PORT --user NAME with the password "
			    "in $TUNNEL_PASSWORD.\n", path,
			    explicit ? "" : " in the current directory");
			goto usage_error;
		}
		if (wizard(path, &cfg) == -1)
			goto fail;
		cfg_path = path;
	} else {
		cfg_path = path;
	}
	if (o_port != 0)
		cfg.local_port = o_port;
	if (n_svc > 0 && set_services(&cfg, o_svc, n_svc, o_host,
	    o_port != 0) == -1)
		goto usage_error;
	if (o_grace != -1)
		cfg.shutdown_grace = o_grace;
	if (o_host != NULL && set_string(&cfg.local_host, o_host) == -1)
		goto fail;
	if (o_transport != -1)
		cfg.transport = o_transport;
	if (o_pp != -1)
		cfg.proxy_protocol = o_pp;
	if (o_fp != NULL && set_string(&cfg.server_fingerprint, o_fp) == -1)
		goto fail;

	if (check) {
		/* What cli_init() would refuse, short of connecting. */
		char host[256];
		int port;

		if (cfg_split_hostport(cfg.server_addr, host, sizeof(host),
		    &port) == -1) {
			fprintf(stderr, "tunnel-client: bad server address "
			    "'%s'\n", cfg.server_addr);
			goto usage_error;
		}
		printf("configuration OK\n");
		cfg_client_free(&cfg);
		return 0;
	}
	if (cfg.log_level != NULL)
		(void)log_level_parse(cfg.log_level, &level);
	log_init("tunnel-client", debug ? LOG_DEBUG : level);
	(void)sys_raise_nofile();
	if ((l = loop_new()) == NULL)
		fatal("epoll");
	if (cli_init(&c, l, &cfg, cfg_path, tty_is_interactive(), no_splice,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "tunnel-client: %s\n", err);
		loop_free(l);
		cfg_client_free(&cfg);
		return 2;
	}
	if (o_fp != NULL)
		c.pin_from = "--fingerprint";
	memset(&d, 0, sizeof(d));
	d.cli = &c;
	d.path = cfg_path;
	d.debug = debug;
	d.o_port = o_port != 0;
	d.o_svc = n_svc > 0;
	d.o_host = o_host != NULL;
	d.o_grace = o_grace != -1;
	d.o_transport = o_transport != -1;
	d.o_fp = o_fp != NULL;
	d.o_pp = o_pp != -1;
	if (loop_signals(l, sigs, sizeof(sigs) / sizeof(sigs[0]), on_signal,
	    &d) == -1)
		fatal("signalfd");
	log_info("tunnel-client %s: connecting to %s as '%s', local service "
	    "%s", TUNNEL_VERSION, cfg.server_addr, cfg.username, c.locals[0].desc);
	if (sys_poll_note() != NULL)
		log_info("%s", sys_poll_note());
	cli_start(&c);
	rc = loop_run(l) == -1 ? 1 : c.exit_code;
	cli_stop(&c);
	loop_free(l);
	cli_free(&c);
	cfg_client_free(&cfg);
	log_close();
	return rc;
usage_error:
	cfg_client_free(&cfg);
	return 2;
fail:
	cfg_client_free(&cfg);
	return 1;
}
