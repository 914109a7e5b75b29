/*
 * client_trust: which server key this client trusts, decided after the
 * TLS handshake and before any login byte is sent.
 *
 * A key is pinned in advance (server_fingerprint in the config, or
 * --fingerprint), or is "ca": any key in a certificate a trusted CA signed
 * for server_addr's host (certbot's files on the server). Otherwise the
 * first contact decides, the way ssh does: on a terminal the user is shown
 * the fingerprint and asked; without one the key is trusted and recorded
 * (ssh's accept-new) and its fingerprint logged. It is recorded in the
 * config file, or in flags mode in known_servers, so every later start is
 * pinned; a config file the client may not write (root's, a read-only
 * mount) sends the record to known_servers too, which is read whenever
 * the config lacks the key, so such a client is asked only once.
 * Afterwards another key is a hard error naming both: the client stops
 * rather than log in to it.
 *
 * Proxy connections must show the key the control connection accepted;
 * a resumed handshake carries the certificate of the session it resumes.
 *
 * The password setting (crypt's family, cost and salt) of the first
 * login the server proved itself in is remembered the same way
 * (login_setting): a later CHALLENGE with another one is refused before
 * anything is derived from the password, so an impostor met once cannot
 * pick a cheaper hash to crack the proof offline.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crypt_policy.h"
#include "log.h"
#include "sys.h"
#include "tty.h"

#define KNOWN_DIR	"tunnel"
#define KNOWN_FILE	"known_servers"

/* known_servers in tunnel's directory under the user's configuration one. */
static int
known_path(char *out, size_t len, char *dir, size_t dirlen)
{
	char base[4096];
	int n;

	if (sys_config_dir(base, sizeof(base)) == -1)
		return -1;
	n = snprintf(dir, dirlen, "%s/%s", base, KNOWN_DIR);
	if (n < 0 || (size_t)n >= dirlen ||
	    (n = snprintf(out, len, "%s/%s", dir, KNOWN_FILE)) < 0 ||
	    (size_t)n >= len)
		return -1;
	return 0;
}

/* Sets *field to a copy of v. Return: 0, or -1 (no memory). */
static int
set_field(char **field, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

int
cli_trust_init(struct cli *c, char *err, size_t errlen)
{
	char dir[4096], line[512], *f1, *f2, *f3;
	int want_fp, want_setting;
	FILE *f;

	/* A config file's own lines win over known_servers. */
	want_fp = c->cfg->server_fingerprint == NULL &&
	    c->cfg->transport == CFG_TRANSPORT_TLS;
	want_setting = c->cfg->login_setting == NULL;
	if (known_path(c->known_path, sizeof(c->known_path), dir,
	    sizeof(dir)) == -1) {
		c->known_path[0] = '\0';	/* nowhere to record */
		return 0;
	}
	if ((f = fopen(c->known_path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		(void)snprintf(err, errlen, "%s: %s", c->known_path,
		    strerror(errno));
		return -1;
	}
	/*
	 * "server_addr fingerprint" and "server_addr username setting"
	 * lines; the last one for ours wins.
	 */
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		f1 = strtok(line, " ");
		f2 = strtok(NULL, " ");
		f3 = strtok(NULL, " ");
		if (f1 == NULL || f2 == NULL ||
		    strcmp(f1, c->cfg->server_addr) != 0)
			continue;
		if (f3 == NULL && want_fp) {
			if (!tls_fp_valid(f2) && strcmp(f2, CFG_FP_CA) != 0)
				goto damaged;
			if (set_field(&c->cfg->server_fingerprint, f2) == -1)
				goto nomem;
			c->pin_from = c->known_path;
		} else if (f3 != NULL && want_setting &&
		    strcmp(f2, c->cfg->username) == 0) {
			if (crypt_policy_check(f3, err, errlen) == -1)
				goto damaged;
			if (set_field(&c->cfg->login_setting, f3) == -1)
				goto nomem;
			c->setting_from = c->known_path;
		}
	}
	(void)fclose(f);
	return 0;
damaged:
	(void)snprintf(err, errlen, "%s: a line for %s is damaged; remove it "
	    "to trust the server anew", c->known_path, c->cfg->server_addr);
	(void)fclose(f);
	return -1;
nomem:
	(void)snprintf(err, errlen, "out of memory");
	(void)fclose(f);
	return -1;
}

/* Appends "server_addr what" to known_servers, creating it (0600). */
static int
known_append(struct cli *c, const char *what, char *err, size_t errlen)
{
	char dir[4096], path[4096], line[512], *slash;
	int fd, n;

	if (known_path(path, sizeof(path), dir, sizeof(dir)) == -1) {
		(void)snprintf(err, errlen, "no $HOME (%%APPDATA%% on "
		    "Windows) to keep known_servers in");
		return -1;
	}
	/* ~/.config, then ~/.config/tunnel: private, as ssh keeps ~/.ssh. */
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		(void)mkdir(dir, 0700);
		*slash = '/';
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		(void)snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	n = snprintf(line, sizeof(line), "%s %s\n", c->cfg->server_addr, what);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		(void)snprintf(err, errlen, "server address too long");
		return -1;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* One write of a short line: appends do not interleave. */
	if (write(fd, line, (size_t)n) != n || fsync(fd) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void)close(fd);
		return -1;
	}
	if (close(fd) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	(void)snprintf(c->known_path, sizeof(c->known_path), "%s", path);
	return 0;
}

/*
 * Records "key: value" in the config file, or known_what in known_servers
 * in flags mode or when the config may not be written. Return: where it
 * went, or NULL with err set.
 */
static const char *
keep(struct cli *c, const char *comment, const char *key, const char *value,
    const char *known_what, char *err, size_t errlen)
{
	if (c->cfg_path != NULL) {
		if (cfg_client_append(c->cfg_path, comment, key, value, err,
		    errlen) == 0)
			return c->cfg_path;
		log_warnx("cannot record %s in the config (%s): keeping it in "
		    "known_servers", key, err);
	}
	return known_append(c, known_what, err, errlen) == 0 ? c->known_path :
	    NULL;
}

/*
 * Pins fp for this run; it is recorded where the next run will find it
 * only once the server has proven it knows the password (cli_trust_save):
 * an impostor met at first contact must not lock the real server out.
 */
static void
record(struct cli *c, const char *fp)
{
	free(c->cfg->server_fingerprint);
	c->cfg->server_fingerprint = strdup(fp);
	if (c->cfg->server_fingerprint == NULL) {
		log_warnx("out of memory: the server's key is not pinned");
		return;
	}
	c->pin_from = c->cfg_path != NULL ? c->cfg_path : c->known_path;
	c->pin_unproven = 1;
}

void
cli_trust_save(struct cli *c)
{
	const char *fp = c->cfg->server_fingerprint, *where;
	char err[8192];

	if (!c->pin_unproven || fp == NULL)
		return;
	c->pin_unproven = 0;
	where = keep(c, "The server's TLS key, pinned on first contact "
	    "(tunnel-server --fingerprint prints it).", "server_fingerprint",
	    fp, fp, err, sizeof(err));
	if (where == NULL) {
		log_warnx("cannot record the server's key (%s): it is pinned "
		    "for this run only", err);
		return;
	}
	c->pin_from = where;
	log_info("recorded server_fingerprint %s in %s", fp, where);
}

/* A terminal: show the key and ask, as ssh does. Return: 1 yes, 0 no. */
static int
ask_user(const struct cli *c, const char *fp)
{
	char answer[16];

	for (;;) {
		fprintf(stderr, "\nThe server %s is new to this client. Its "
		    "key's fingerprint is\n  %s\nCheck it against the output "
		    "of `tunnel-server --fingerprint` on the server.\n",
		    c->cfg->server_addr, fp);
		if (tty_read_line("Trust this server and remember its key? "
		    "(yes/no): ", 1, answer, sizeof(answer)) == -1) {
			if (errno != EMSGSIZE)
				return 0;	/* input ended: no */
			answer[0] = '\0';	/* too long: ask again */
		}
		if (strcmp(answer, "yes") == 0 || strcmp(answer, "y") == 0)
			return 1;
		if (strcmp(answer, "no") == 0 || strcmp(answer, "n") == 0)
			return 0;
		fprintf(stderr, "Please answer yes or no.\n");
	}
}

int
cli_trust_server(struct cli *c, struct tls *t, char *msg, size_t len)
{
	const char *pin = c->cfg->server_fingerprint;
	char fp[TLS_FP_LEN];

	if (tls_peer_fingerprint(t, fp) == -1) {
		(void)snprintf(msg, len, "the server sent no usable "
		    "certificate");
		return 0;
	}
	/*
	 * A key trusted at this run's first contact whose server never
	 * proved the password: another key now is a first contact again,
	 * not a change (the first one may have been the impostor).
	 */
	if (pin != NULL && c->pin_unproven && strcmp(pin, fp) != 0) {
		log_warnx("the key first seen at %s (%s) never proved the "
		    "password and is forgotten", c->cfg->server_addr, pin);
		free(c->cfg->server_fingerprint);
		c->cfg->server_fingerprint = NULL;
		c->pin_unproven = 0;
		pin = NULL;
	}
	if (pin != NULL && strcmp(pin, CFG_FP_CA) == 0) {
		if (tls_ca_verified(t))
			return 1;
		(void)snprintf(msg, len, "server_fingerprint is \"ca\", but "
		    "the server's certificate (key %s) is not signed by a "
		    "trusted CA for %s: refusing it", fp, c->server_host);
		return 0;
	}
	if (pin != NULL) {
		if (strcmp(pin, fp) == 0)
			return 1;
		(void)snprintf(msg, len, "the server's key has CHANGED: "
		    "expected %s (from %s), got %s. Someone may be "
		    "intercepting the link: not logging in. If the server's "
		    "key was replaced on purpose, put the new fingerprint "
		    "(tunnel-server --fingerprint prints it) there instead",
		    pin, c->pin_from != NULL ? c->pin_from : "the config", fp);
		return 0;
	}
	/* First contact. A CA's word for the host needs no pinning. */
	if (tls_ca_verified(t)) {
		log_info("the server's certificate is signed by a trusted CA "
		    "for %s: trusting it (key %s)", c->server_host, fp);
		record(c, CFG_FP_CA);
		return 1;
	}
	if (c->ask) {
		c->asked = 1;
		if (!ask_user(c, fp)) {
			(void)snprintf(msg, len, "the server's key %s was not "
			    "accepted: not logging in", fp);
			return 0;
		}
	} else {
		log_warnx("first contact with %s: trusting its key %s and "
		    "pinning it (as ssh's accept-new does); compare it with "
		    "tunnel-server --fingerprint on the server",
		    c->cfg->server_addr, fp);
	}
	record(c, fp);
	return 1;
}

int
cli_trust_proxy(const struct cli *c, struct tls *t)
{
	const char *pin = c->cfg->server_fingerprint;
	char fp[TLS_FP_LEN];

	if (pin == NULL)
		return 0;	/* the control connection pins first */
	if (strcmp(pin, CFG_FP_CA) == 0)
		return tls_ca_verified(t);
	return tls_peer_fingerprint(t, fp) == 0 && strcmp(pin, fp) == 0;
}

int
cli_setting_check(struct cli *c, const char *setting, char *msg, size_t len)
{
	const char *had = c->cfg->login_setting;

	if (had == NULL || strcmp(had, setting) == 0)
		return 1;
	(void)snprintf(msg, len, "the server's password setting has CHANGED: "
	    "the first login used %s, now it offers %s. If the password was "
	    "changed on the server, remove login_setting from %s; otherwise "
	    "someone may be impersonating the server: not logging in", had,
	    setting, c->setting_from != NULL ? c->setting_from :
	    "known_servers");
	return 0;
}

void
cli_setting_record(struct cli *c)
{
	char err[8192], line[PROTO_MAX_USER + PROTO_MAX_SETTING + 2];
	const char *where;

	if (c->cfg->login_setting != NULL)
		return;
	if (set_field(&c->cfg->login_setting, c->setting) == -1) {
		log_warnx("out of memory: the password setting is not kept");
		return;
	}
	(void)snprintf(line, sizeof(line), "%s %s", c->cfg->username,
	    c->setting);
	where = keep(c, "The password setting of the first login; another "
	    "one is refused.", "login_setting", c->setting, line, err,
	    sizeof(err));
	if (where == NULL) {
		log_warnx("cannot record the password setting (%s): it is "
		    "kept for this run only", err);
		return;
	}
	c->setting_from = where;
	log_debug("recorded login_setting %s in %s", c->setting, where);
}
