/*
 * tunnel-server: argument parsing, the first-run config, logging set-up
 * and the loop. Everything the daemon does at run time is in server*.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "server.h"
#include "tls.h"
#include "tty.h"
#include "sys.h"

#define GENERATED_PASSWORD_LEN	20

static void
usage(FILE *f)
{
	fprintf(f,
"usage: tunnel-server [-c FILE] [-d] [-n] [--no-splice]\n"
"       tunnel-server --hash-password\n"
"       tunnel-server [-c FILE] --fingerprint\n"
"\n"
"Carries TCP connections that reach this host to a tunnel-client.\n"
"\n"
"  -c, --config FILE  configuration file (default %s;\n"
"                     -config FILE as in go-tunnel works too); a missing\n"
"                     file is created with a random admin password\n"
"  -d, --debug        log at debug level\n"
"  -n, --check        check the configuration, print \"configuration OK\"\n"
"  --no-splice        copy bytes through user space (diagnosis only)\n"
"  --hash-password    read a password (no echo) and print a yescrypt hash\n"
"                     for users[].password\n"
"  --fingerprint      print the fingerprint of the server's TLS key (made\n"
"                     now if it does not exist yet), for server_fingerprint\n"
"                     in the client's config\n"
"  -h, --help         this help\n"
"  -V, --version      print the version\n", CFG_DEFAULT_SERVER_FILE);
}

static int
hash_password(void)
{
	char pw[512], again[512], hash[AUTH_HASH_MAX];
	int interactive = tty_is_interactive();

	if (tty_read_line(interactive ? "Password: " : "", 0, pw,
	    sizeof(pw)) == -1) {
		fprintf(stderr, "tunnel-server: no password read\n");
		return 1;
	}
	if (interactive) {
		if (tty_read_line("Again: ", 0, again, sizeof(again)) == -1 ||
		    strcmp(pw, again) != 0) {
			auth_wipe(pw, sizeof(pw));
			auth_wipe(again, sizeof(again));
			fprintf(stderr, "tunnel-server: passwords differ\n");
			return 1;
		}
		auth_wipe(again, sizeof(again));
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "tunnel-server: empty password refused\n");
		return 1;
	}
	if (auth_hash_password(pw, hash, sizeof(hash)) == -1) {
		auth_wipe(pw, sizeof(pw));
		fprintf(stderr, "tunnel-server: hashing failed: %s\n",
		    strerror(errno));
		return 1;
	}
	auth_wipe(pw, sizeof(pw));
	printf("%s\n", hash);
	return 0;
}

/* First run: a config with a random admin password, shown once. */
static int
write_first_config(const char *path)
{
	static const char alphabet[] =
	    "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	char pw[GENERATED_PASSWORD_LEN + 1], hash[AUTH_HASH_MAX], err[512];
	uint8_t rnd[GENERATED_PASSWORD_LEN];
	size_t i;

	if (sys_random(rnd, sizeof(rnd)) == -1)
		return -1;
	for (i = 0; i < GENERATED_PASSWORD_LEN; i++)
		pw[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	pw[GENERATED_PASSWORD_LEN] = '\0';
	if (auth_hash_password(pw, hash, sizeof(hash)) == -1) {
		fprintf(stderr, "tunnel-server: hashing failed: %s\n",
		    strerror(errno));
		return -1;
	}
	if (cfg_server_write_default(path, hash, err, sizeof(err)) == -1) {
		fprintf(stderr, "tunnel-server: %s\n", err);
		return -1;
	}
	fprintf(stderr,
	    "tunnel-server: no configuration found; wrote %s (mode 0600)\n"
	    "  username: admin\n"
	    "  password: %s\n"
	    "Give these to tunnel-client. This is the only time the password "
	    "is shown;\nthe file keeps only its hash.\n", path, pw);
	auth_wipe(pw, sizeof(pw));
	return 0;
}

/*
 * name in the directory srv_state_dir() picks for the key (the key and
 * its certificate stay together), or NULL when out of memory.
 */
static char *
state_file(const char *path, const char *name)
{
	char dir[4096], *out;
	size_t n;

	if (srv_state_dir(path, CFG_DEFAULT_TLS_KEY, dir, sizeof(dir)) == -1)
		return NULL;
	/* A config named without a directory: names stay as short. */
	if (strchr(path, '/') == NULL && strcmp(dir, ".") == 0)
		return strdup(name);
	n = strlen(dir) + 1 + strlen(name) + 1;
	if ((out = malloc(n)) != NULL)
		(void)snprintf(out, n, "%s%s%s", dir,
		    strcmp(dir, "/") == 0 ? "" : "/", name);
	return out;
}

/*
 * Fills in the default TLS paths (beside the config, or in systemd's
 * StateDirectory) unless the file names both. Return: 0, or -1 with the
 * reason in err.
 */
static int
tls_paths(const char *path, struct cfg_server *cfg, char *err, size_t errlen)
{
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		(void)snprintf(err, errlen, "%s: tls_cert and tls_key go "
		    "together", path);
		return -1;
	}
	if (cfg->tls_cert != NULL)
		return 0;
	cfg->tls_cert = state_file(path, CFG_DEFAULT_TLS_CERT);
	cfg->tls_key = state_file(path, CFG_DEFAULT_TLS_KEY);
	if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * The TLS key and certificate: the configured ones, or the defaults next
 * to the config, made on first run. *fp gets the key's fingerprint.
 * Return: 1 if made now, 0 if they existed, -1 after saying why.
 */
static int
tls_files(const char *path, struct cfg_server *cfg, char *fp)
{
	char err[512];
	int made = 0, ours = cfg->tls_cert == NULL;

	if (tls_paths(path, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "tunnel-server: %s\n", err);
		return -1;
	}
	if (ours) {
		/* Ours to make; a certbot pair is never made up. */
		made = tls_make_server_key(cfg->tls_cert, cfg->tls_key, err,
		    sizeof(err));
		if (made == -1) {
			fprintf(stderr, "tunnel-server: %s\n", err);
			return -1;
		}
		if (made == 1 &&
		    (srv_give_to_dir_owner(cfg->tls_cert) == -1 ||
		    srv_give_to_dir_owner(cfg->tls_key) == -1)) {
			fprintf(stderr, "tunnel-server: cannot give %s and %s to "
			    "the owner of their directory: %s\n",
			    cfg->tls_cert, cfg->tls_key, strerror(errno));
			return -1;
		}
	}
	if (tls_file_fingerprint(cfg->tls_cert, fp, err, sizeof(err)) == -1) {
		fprintf(stderr, "tunnel-server: %s\n", err);
		return -1;
	}
	return made;
}

/* What the signal handler needs. */
struct daemon {
	struct srv	*srv;
	const char	*path;
	int		 debug;		/* -d: the level stays debug */
	char		 fp[TLS_FP_LEN];
};

/* The log settings of a reloaded file (after it was applied). */
static void
reload_log(struct daemon *d, const struct cfg_server *cfg)
{
	enum log_level level = LOG_INFO;
	const char *dir = log_file_dir();

	if (!d->debug && cfg->log_level != NULL &&
	    log_level_parse(cfg->log_level, &level) == 0)
		log_set_level(level);
	if (!cfg->log_enable) {
		if (dir != NULL) {
			log_info("reload: log file off");
			log_close_file();
		}
		return;
	}
	if (dir != NULL && strcmp(dir, cfg->log_path) == 0)
		return;
	if (log_open_file(cfg->log_path) == -1)
		log_warn("reload: cannot write %s/info.log (logging goes on "
		    "as before)", cfg->log_path);
	else
		log_info("reload: logging to %s/info.log", cfg->log_path);
}

/*
 * SIGHUP: the log file is reopened (logrotate without copytruncate), then
 * the config file is read again and applied (server_reload.c). A file
 * with an error changes nothing.
 */
static void
reload(struct daemon *d)
{
	struct srv *s = d->srv;
	struct cfg_server next;
	char err[1024], fp[TLS_FP_LEN];

	if (!s->cfg->log_enable)
		log_info("SIGHUP: no log file to reopen");
	else if (log_reopen() == -1)
		log_warn("SIGHUP: cannot reopen the log file");
	else
		log_info("SIGHUP: log file reopened");
	log_info("SIGHUP: reading %s again", d->path);
	cfg_server_init(&next);
	if (cfg_server_load(d->path, &next, err, sizeof(err)) == -1) {
		log_error("reload: %s; the running configuration stays", err);
		cfg_server_free(&next);
		return;
	}
	if (s->tls != NULL) {
		if (tls_paths(d->path, &next, err, sizeof(err)) == -1 ||
		    tls_file_fingerprint(next.tls_cert, fp, err,
		    sizeof(err)) == -1) {
			log_error("reload: %s; the running configuration stays",
			    err);
			cfg_server_free(&next);
			return;
		}
	}
	if (srv_reload(s, &next) == 0) {
		reload_log(d, s->cfg);
		if (s->tls != NULL && strcmp(fp, d->fp) != 0) {
			log_warnx("reload: the TLS key changed: fingerprint %s "
			    "(%s); clients that pinned the old one refuse it",
			    fp, s->cfg->tls_cert);
			memcpy(d->fp, fp, sizeof(d->fp));
		}
	}
	cfg_server_free(&next);
}

/*
 * HUP reloads. TERM and INT stop gracefully (srv_drain); a second one
 * during the grace stops at once, as a second Ctrl-C is expected to.
 */
static void
on_signal(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;
	struct srv *s = d->srv;

	switch (signo) {
	case SIGHUP:
		reload(d);
		return;
	default:
		if (s->stopping) {
			log_info("%s again: stopping now", strsignal(signo));
			srv_shutdown(s);
			loop_stop(l);
			return;
		}
		log_info("%s: shutting down", strsignal(signo));
		if (srv_drain(s))
			loop_stop(l);
		return;
	}
}

int
main(int argc, char **argv)
{
	const char *path = CFG_DEFAULT_SERVER_FILE;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct cfg_server cfg;
	enum log_level level = LOG_INFO;
	struct loop *l;
	struct srv s;
	struct daemon d;
	uint8_t secret[PROTO_KEY_LEN];
	char err[1024], fp[TLS_FP_LEN];
	int i, debug = 0, check = 0, no_splice = 0, rc = 0, hashpw = 0;
	int fingerprint = 0, fresh = 0, made = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ||
		    strcmp(a, "-config") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "tunnel-server: %s needs a file "
				    "name\n", a);
				return 2;
			}
			path = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			path = a + 9;
		} else if (strcmp(a, "-d") == 0 || strcmp(a, "--debug") == 0) {
			debug = 1;
		} else if (strcmp(a, "-n") == 0 || strcmp(a, "--check") == 0) {
			check = 1;
		} else if (strcmp(a, "--no-splice") == 0) {
			no_splice = 1;
		} else if (strcmp(a, "--hash-password") == 0) {
			hashpw = 1;
		} else if (strcmp(a, "--fingerprint") == 0) {
			fingerprint = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("tunnel-server %s (protocol %d, %s, %s)\n",
			    TUNNEL_VERSION, PROTO_VERSION, loop_backend_name(),
			    sys_can_splice() ? "splice" : "copy");
			return 0;
		} else {
			fprintf(stderr, "tunnel-server: unknown argument '%s' "
			    "(try --help)\n", a);
			return 2;
		}
	}

	if (hashpw) {
		if (argc != 2) {
			fprintf(stderr, "tunnel-server: --hash-password takes "
			    "no other argument\n");
			return 2;
		}
		return hash_password();
	}
	if (*path == '\0') {
		fprintf(stderr, "tunnel-server: empty configuration file "
		    "name\n");
		return 2;
	}
	cfg_server_init(&cfg);
	if (cfg_server_load(path, &cfg, err, sizeof(err)) == -1) {
		if (errno != ENOENT || check || fingerprint) {
			fprintf(stderr, "tunnel-server: %s\n", err);
			cfg_server_free(&cfg);
			return 2;
		}
		if (write_first_config(path) == -1) {
			cfg_server_free(&cfg);
			return 1;
		}
		fresh = 1;
		if (cfg_server_load(path, &cfg, err, sizeof(err)) == -1) {
			fprintf(stderr, "tunnel-server: %s\n", err);
			cfg_server_free(&cfg);
			return 2;
		}
	}
	if (check) {
		printf("configuration OK\n");
		cfg_server_free(&cfg);
		return 0;
	}
	if (fingerprint) {
		if ((made = tls_files(path, &cfg, fp)) == -1) {
			cfg_server_free(&cfg);
			return 2;
		}
		if (made)
			fprintf(stderr, "tunnel-server: made %s and %s (mode "
			    "0600)\n", cfg.tls_cert, cfg.tls_key);
		printf("%s\n", fp);
		cfg_server_free(&cfg);
		return 0;
	}
	if (cfg.log_level != NULL)
		(void)log_level_parse(cfg.log_level, &level);
	log_init("tunnel-server", debug ? LOG_DEBUG : level);
	if (cfg.log_enable && log_open_file(cfg.log_path) == -1) {
		fprintf(stderr, "tunnel-server: cannot write %s/info.log: %s\n",
		    cfg.log_path, strerror(errno));
		cfg_server_free(&cfg);
		return 2;
	}
	/* Made only once the rest of the set-up is known to be good. */
	if (cfg.transport == CFG_TRANSPORT_TLS) {
		if ((made = tls_files(path, &cfg, fp)) == -1) {
			cfg_server_free(&cfg);
			log_close();
			return 2;
		}
		if (made)
			fprintf(stderr, "tunnel-server: made the TLS key %s "
			    "(mode 0600); its fingerprint:\n"
			    "  server_fingerprint: %s\n"
			    "Clients pin it on first contact; give it to "
			    "them beforehand to pin it from the start%s.\n",
			    cfg.tls_key, fp, fresh ? " (with the password "
			    "above)" : "");
	}
	if (sys_init() == -1)
		fatal("sys_init");
	log_info("fd limit %ld", sys_raise_nofile());
	if (srv_secret_load(path, secret, err, sizeof(err)) == -1) {
		log_error("%s", err);
		cfg_server_free(&cfg);
		log_close();
		return 2;
	}
	if ((l = loop_new()) == NULL)
		fatal("epoll");
	rc = srv_init(&s, l, &cfg, secret, no_splice);
	auth_wipe(secret, sizeof(secret));
	if (rc == -1) {
		srv_shutdown(&s);
		srv_free(&s);
		loop_free(l);
		cfg_server_free(&cfg);
		log_close();
		return 1;
	}
	memset(&d, 0, sizeof(d));
	d.srv = &s;
	d.path = path;
	d.debug = debug;
	if (cfg.transport == CFG_TRANSPORT_TLS)
		memcpy(d.fp, fp, sizeof(d.fp));
	if (loop_signals(l, sigs, sizeof(sigs) / sizeof(sigs[0]), on_signal,
	    &d) == -1)
		fatal("signalfd");
	log_info("tunnel-server %s listening on port %d (IPv4 and IPv6), "
	    "%zu user%s, pool %d, connect timeout %d s%s", TUNNEL_VERSION,
	    s.main.port, s.nusers, s.nusers == 1 ? "" : "s", cfg.pool_size, cfg.connect_timeout,
	    no_splice ? ", splice OFF" : sys_can_splice() ? "" :
	    ", copy path (no splice here)");
	if (cfg.transport == CFG_TRANSPORT_TLS)
		log_info("transport: tls, key fingerprint %s (%s)", fp,
		    cfg.tls_cert);
	else
		log_warnx("transport: plain: the tunnel link is NOT encrypted "
		    "(only for a link inside a VPN or WireGuard)");
	for (i = 0; i < (int)s.nusers; i++)
		if (s.users[i]->listener != NULL)
			log_info("user '%s' has its own port %d",
			    s.users[i]->cfg->username, s.users[i]->listener->port);
	if (s.metrics != NULL)
		log_info("metrics: http://%s/metrics", cfg.metrics_listen);
	if (loop_run(l) == -1)
		rc = 1;
	srv_shutdown(&s);
	log_info("stopped: %llu visitor%s (%llu bridged), %llu bytes spliced, "
	    "%llu copied", (unsigned long long)s.visitors_total,
	    s.visitors_total == 1 ? "" : "s",
	    (unsigned long long)s.visitors_bridged,
	    (unsigned long long)s.bctx.spliced,
	    (unsigned long long)s.bctx.copied);
	srv_free(&s);
	loop_free(l);
	cfg_server_free(&cfg);
	log_close();
	return rc;
}
