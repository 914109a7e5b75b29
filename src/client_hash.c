/*
 * client_hash: computing crypt(password, setting) off the event loop.
 *
 * The setting comes from the server, so its cost is the server's choice:
 * a yescrypt or bcrypt setting can take seconds, or hours from an
 * impostor. The hash runs in a helper process (client_helper.c: this
 * binary again, holding nothing but its pipes) that writes the result to
 * a pipe the loop watches; bridged visitors keep moving meanwhile, and a
 * hash that takes longer than CLI_HASH_TIMEOUT_MS kills the helper and
 * fails the login. The result is cached per setting by the caller, so a
 * reconnect to the same server costs nothing.
 */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "log.h"

static void	hash_done(struct cli_helper *, int);
static void	hash_timeout(struct loop *, struct timer *);

void
cli_hash_init(struct cli *c)
{
	cli_helper_init(&c->hash, c->loop, hash_done);
	loop_timer_init(&c->hash_timer, hash_timeout);
}

void
cli_hash_cancel(struct cli *c)
{
	loop_timer_cancel(c->loop, &c->hash_timer);
	cli_helper_cancel(&c->hash);
}

int
cli_hash_start(struct cli *c, const char *setting)
{
	char in[PROTO_MAX_SETTING + 2 + 512];
	size_t pwlen = strlen(c->cfg->password), slen = strlen(setting);
	int r;

	cli_hash_cancel(c);
	if (pwlen + slen + 2 > sizeof(in))
		return -1;
	memcpy(in, c->cfg->password, pwlen + 1);
	memcpy(in + pwlen + 1, setting, slen + 1);
	r = cli_helper_start(&c->hash, "crypt", in, pwlen + slen + 2);
	auth_wipe(in, sizeof(in));
	if (r == -1)
		return -1;
	loop_timer_set(c->loop, &c->hash_timer, CLI_HASH_TIMEOUT_MS);
	return 0;
}

static void
hash_done(struct cli_helper *hp, int ok)
{
	struct cli *c = container_of(hp, struct cli, hash);
	char salted[AUTH_HASH_MAX];

	loop_timer_cancel(c->loop, &c->hash_timer);
	if (!ok || hp->len == 0 || hp->len >= sizeof(salted) ||
	    hp->buf[0] == '*') {
		auth_wipe(hp->buf, sizeof(hp->buf));
		hp->len = 0;
		cli_hash_done(c, NULL, "the server sent a password salt this "
		    "client cannot use");
		return;
	}
	memcpy(salted, hp->buf, hp->len);
	salted[hp->len] = '\0';
	auth_wipe(hp->buf, sizeof(hp->buf));
	hp->len = 0;
	cli_hash_done(c, salted, NULL);
	auth_wipe(salted, sizeof(salted));
}

static void
hash_timeout(struct loop *l, struct timer *t)
{
	struct cli *c = container_of(t, struct cli, hash_timer);
	char why[128];

	(void)l;
	cli_hash_cancel(c);
	(void)snprintf(why, sizeof(why), "the server's password salt takes "
	    "over %d s to hash: refusing it", CLI_HASH_TIMEOUT_MS / 1000);
	cli_hash_done(c, NULL, why);
}
