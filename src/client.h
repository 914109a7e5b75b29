/*
 * client: the tunnel-client daemon's objects. Private to src/client*.c.
 *
 *   cli        the control session: connect, login, heartbeats, reconnect
 *   cli_proxy  one pre-dialed proxy connection: connecting, registered and
 *              idle, or dialing the local service for a visitor
 */
#ifndef TUNNEL_CLIENT_H
#define TUNNEL_CLIENT_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "bridge.h"
#include "config.h"
#include "frameio.h"
#include "loop.h"
#include "net.h"
#include "proto.h"
#include "proxyproto.h"
#include "sys.h"
#include "tls.h"

#define CLI_BACKOFF_MIN_MS	1000
#define CLI_BACKOFF_MAX_MS	30000
#define CLI_DEAD_MISSES		3
#define CLI_REFILL_MIN_MS	200
#define CLI_REFILL_MAX_MS	5000
#define CLI_DRAIN_MS		2000
#define CLI_ACCEPT_MS		100	/* dial still going: say ACCEPTED */
#define CLI_KEEPALIVE_MS	1000	/* a proxy connection's age for it */
#define CLI_HASH_TIMEOUT_MS	8000	/* under the server's 10 s step */
#define CLI_MAX_ADDRS		16	/* server addresses tried per attempt */
#define CLI_STAGGER_MS		250	/* RFC 8305 connection attempt delay */
#define CLI_FAIL_PEEK_MS	50	/* a FAIL in the clear, partly here */
#define CLI_OUTBUF		4096
#define CLI_MAGIC_PROXY		0x43505859u
#define CLI_TOOK_WINDOW		4096	/* counters whose START is recorded */
#define CLI_PIPE_MEMORY		(64u << 20) /* bytes bridges may hold at once */

enum cli_state {
	CLI_IDLE = 0,		/* not started, or stopped */
	CLI_RESOLVING,		/* server_addr's name, in a helper */
	CLI_CONNECTING,		/* TCP connects to its addresses, staggered */
	CLI_TLS,		/* TLS handshake, then the server's key checked */
	CLI_CHALLENGE_WAIT,	/* HELLO sent */
	CLI_HASHING,		/* CHALLENGE read, crypt(3) in a child */
	CLI_WELCOME_WAIT,	/* PROOF sent */
	CLI_READY,		/* logged in: pool kept full */
	CLI_BACKOFF,		/* waiting to reconnect */
	CLI_DONE,		/* gave up for good (bad credentials...) */
};

enum cli_proxy_state {
	CLI_PROXY_CONNECTING = 0,	/* TCP connect to the server */
	CLI_PROXY_TLS,			/* TLS handshake, then REGISTER */
	CLI_PROXY_IDLE,			/* REGISTER sent, waiting for START */
	CLI_PROXY_DIAL_LOCAL,		/* START read, dialing local service */
	CLI_PROXY_DRAIN,		/* STATUS FAIL sent, reading the rest */
	CLI_PROXY_DEAD,
};

struct cli;

/*
 * A helper process at work (client_helper.c): its stdout is read into buf
 * until EOF, then the child is reaped and done() gets ok = 1 if it exited
 * 0 and its answer fit.
 */
struct cli_helper {
	struct loop		*loop;
	struct handler		 h;		/* the helper's stdout */
	sys_pid_t		 pid;		/* 0: none running */
	uint8_t			 buf[1 + CLI_MAX_ADDRS *
				    (sizeof(socklen_t) +
				    sizeof(struct sockaddr_storage)) + 1];
	size_t			 len;
	void			(*done)(struct cli_helper *, int ok);
};

/* One of the racing connects to the server (client_connect.c). */
struct cli_attempt {
	struct cli		*cli;
	struct handler		 h;		/* fd -1: not in flight */
	size_t			 addr;		/* index in cli's addrs */
};

/* Where one service's visitors are dialed. */
struct cli_local {
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			 desc[128];	/* "host:port" as configured */
	char			 host[PROTO_MAX_HOST + 1]; /* SERVICE's name,
						   "" for the raw port */
	int			 loopback;	/* dials finish in connect() */
	int			 set;		/* 0: nothing served there */
	int			 passthrough;	/* SERVICE's flag */
};

struct cli_proxy {
	uint32_t		 magic;
	enum cli_proxy_state	 state;
	struct cli		*cli;
	uint64_t		 epoch;		/* session it was dialed for */
	uint64_t		 counter;	/* its REGISTER's, 0 before */
	struct handler		 h;		/* the tunnel socket */
	struct tls		*tls;		/* over it; NULL: plain */
	struct handler		 local;		/* local service, DIAL_LOCAL */
	struct timer		 timer;
	uint8_t			 in[PROTO_MAX_FRAME];
	size_t			 inlen;
	uint64_t		 visitor_id;
	uint8_t			 service;	/* START's: index in locals */
	int			 unknown;	/* ... which was out of range */
	char			 visitor[PROTO_MAX_ADDR * 4 + 1];
	uint8_t			 pp[PROXYPROTO_MAX]; /* PROXY header, or none */
	size_t			 pplen;
	uint64_t		 started_ms;
	int			 accepted;	/* ACCEPTED sent */
	int			 keepalive;	/* TCP keepalive is on */
	uint64_t		 registered_ms;	/* REGISTER sent */
	LIST_ENTRY(cli_proxy)	 entry;
};

LIST_HEAD(cli_proxy_list, cli_proxy);

/* A bridged visitor: tracked so that a stop can close it. */
struct cli_visitor {
	struct cli		*cli;
	struct bridge		*bridge;
	struct timer		 keepalive;	/* proxy side's, if not yet */
	uint64_t		 id;
	char			 peer[PROTO_MAX_ADDR * 4 + 1];
	LIST_ENTRY(cli_visitor)	 entry;
};

LIST_HEAD(cli_visitor_list, cli_visitor);

struct cli {
	struct loop		*loop;
	struct cfg_client	*cfg;
	struct bridge_ctx	 bctx;
	struct tls_ctx		*tls_ctx;	/* NULL with transport: plain */
	/* where a key trusted on first contact is recorded (client_trust.c) */
	const char		*cfg_path;	/* config mode; NULL: flags */
	char			 known_path[4096]; /* known_servers, for flags
						   mode or a config we may not
						   write */
	int			 ask;		/* a terminal: ask, as ssh does */
	int			 asked;		/* ... and did, on this connection */
	const char		*pin_from;	/* where server_fingerprint came
						   from, for messages */
	const char		*setting_from;	/* where login_setting came
						   from, for messages */
	int			 pin_unproven;	/* pinned at first contact, not
						   recorded until WELCOME */
	enum cli_state		 state;
	int			 exit_code;
	char			 server_host[256];
	int			 server_port;
	struct sockaddr_storage	 server_addr;
	socklen_t		 server_addrlen;
	/* [0]: the raw port's local service; [i]: SERVICE i's */
	struct cli_local	 locals[1 + CFG_MAX_HOSTS];
	size_t			 nlocals;	/* 1 + services */
	/* control connection */
	struct handler		 h;
	struct tls		*tls;		/* over it; NULL: plain */
	int			 tls_reading;	/* the server's first byte was
						   TLS's: TLS reads the socket */
	int			 fail_wait;	/* part of a FAIL in the clear:
						   looked at again by fail_timer */
	struct timer		 fail_timer;
	uint8_t			 bind[AUTH_BIND_MAX]; /* its tls-exporter */
	size_t			 bindlen;
	struct timer		 timer;		/* deadline, heartbeat, backoff */
	uint8_t			 in[PROTO_MAX_FRAME];
	size_t			 inlen;
	uint8_t			 outmem[CLI_OUTBUF];
	struct outbuf		 out;
	uint64_t		 last_rx_ms;
	uint64_t		 ping_seq;
	unsigned		 attempt;	/* reconnects since last login */
	int			 was_up;	/* a login succeeded once */
	/* the last login refusal logged in full (ctl_refused) */
	char			 refusal[PROTO_MAX_REASON * 4 + 512];
	/* login */
	uint8_t			 cnonce[PROTO_NONCE_LEN];
	char			 setting[PROTO_MAX_SETTING + 1];
	char			 salted[AUTH_HASH_MAX];	/* cache per setting */
	char			 salted_for[PROTO_MAX_SETTING + 1];
	uint8_t			 client_key[PROTO_KEY_LEN];
	struct auth_keys	 keys;
	uint8_t			 am[AUTH_AM_MAX];
	size_t			 amlen;
	uint8_t			 snonce[PROTO_NONCE_LEN];
	/* crypt(3) running in a helper (client_hash.c) */
	struct cli_helper	 hash;
	struct timer		 hash_timer;
	/* server_addr's addresses (client_resolve.c), raced in turn
	   (client_connect.c) */
	struct cli_helper	 resolver;
	struct sockaddr_storage	 addrs[CLI_MAX_ADDRS];
	socklen_t		 addrlens[CLI_MAX_ADDRS];
	size_t			 naddrs;
	size_t			 next_addr;	/* next to try */
	struct cli_attempt	 attempts[CLI_MAX_ADDRS];
	struct timer		 stagger;
	int			 connect_err;	/* last failure's errno */
	/* session */
	uint64_t		 epoch;		/* increments per login */
	uint8_t			 sid[PROTO_SID_LEN];
	uint8_t			 skey[PROTO_KEY_LEN];
	uint64_t		 counter;
	/* bit k % CLI_TOOK_WINDOW: the proxy registered with counter k read
	   START (for WITHDRAW; kept for the last CLI_TOOK_WINDOW counters) */
	uint64_t		 took[CLI_TOOK_WINDOW / 64];
	uint64_t		 rng;		/* spreads keepalive timers */
	unsigned		 pool_size;
	unsigned		 heartbeat_s;
	/* pool */
	struct cli_proxy_list	 proxies;	/* connecting, idle, dialing */
	struct cli_visitor_list	 bridged;
	size_t			 npool;		/* connecting + idle */
	struct timer		 refill;
	unsigned		 refill_failures;
	struct timer		 grace;		/* stopping: bridges finish */
	uint64_t		 visitors;
};

/*
 * client.c: the control session. cfg_path: the config file a key trusted
 * on first contact is recorded in (NULL in flags mode: known_servers);
 * ask: a terminal may be asked whether to trust it.
 */
int	cli_init(struct cli *c, struct loop *l, struct cfg_client *cfg,
	    const char *cfg_path, int ask, int no_splice, char *err,
	    size_t errlen);
void	cli_start(struct cli *c);
/*
 * Stops at once: says goodbye to the server, closes every connection
 * (bridges are reset). Idempotent.
 */
void	cli_stop(struct cli *c);
/*
 * A graceful stop: as cli_stop, but bridged visitors may finish for
 * cfg->shutdown_grace seconds; the loop is stopped when the last one
 * leaves or, after resetting what is left, when the grace runs out.
 * Return: 1 when nothing is left to wait for (the caller stops the
 * loop), 0 while bridges finish.
 */
int	cli_drain(struct cli *c);
/* client_pool.c calls this when the last bridged visitor has gone. */
void	cli_bridges_done(struct cli *c);
void	cli_free(struct cli *c);
/*
 * The local service visitors of the raw port are carried to from now on
 * (resolved here: a name may block in getaddrinfo); port 0: none, they
 * are refused. Bridged visitors keep theirs.
 * Return: 0, or -1 with the reason in err and nothing changed.
 */
int	cli_set_local(struct cli *c, const char *host, int port, char *err,
	    size_t errlen);
/* The same for service i (1..), which serves visitors asking for name. */
int	cli_set_service(struct cli *c, size_t i, const char *name,
	    const char *host, int port, int passthrough, char *err,
	    size_t errlen);

/* client_helper.c: helper processes (this binary in a hidden mode). */
void	cli_helper_init(struct cli_helper *hp, struct loop *l,
	    void (*done)(struct cli_helper *, int ok));
/*
 * Runs this binary as "--helper mode" with input on its stdin, holding no
 * other fd of ours. Return: 0 (done() will be called unless cancelled),
 * or -1 with errno set.
 */
int	cli_helper_start(struct cli_helper *hp, const char *mode,
	    const void *input, size_t inlen);
/* Kills and reaps a running helper, closes its pipe. Idempotent. */
void	cli_helper_cancel(struct cli_helper *hp);
int	cli_helper_running(const struct cli_helper *hp);
/*
 * The helper's side: with argv "--helper MODE", does the job and returns
 * the exit status; any other argv: returns -1 at once.
 */
int	cli_helper_main(int argc, char **argv);

/*
 * client_trust.c: which server key is trusted. cli_trust_init looks the
 * server up in known_servers (flags mode, nothing pinned). Return: 0, or
 * -1 with err filled.
 */
int	cli_trust_init(struct cli *c, char *err, size_t errlen);
/*
 * The control connection's handshake is done: is this the server? A
 * first contact is accepted (asked on a terminal) and recorded. Return:
 * 1 yes, 0 no with a message for the user in msg (never log in then).
 */
int	cli_trust_server(struct cli *c, struct tls *t, char *msg, size_t len);
/* A proxy connection's handshake: the server the control one trusted? */
int	cli_trust_proxy(const struct cli *c, struct tls *t);
/*
 * The CHALLENGE's setting against the one of the first login. Return: 1
 * the same (or none kept yet), 0 another one, with a message in msg.
 */
int	cli_setting_check(struct cli *c, const char *setting, char *msg,
	    size_t len);
/* The server proved itself: keep c->setting if none is kept yet. */
void	cli_setting_record(struct cli *c);
/* The server proved itself: record a key trusted at first contact. */
void	cli_trust_save(struct cli *c);

/* client_hash.c: crypt(3) off the loop, bounded in time. */
void	cli_hash_init(struct cli *c);
int	cli_hash_start(struct cli *c, const char *setting);
void	cli_hash_cancel(struct cli *c);
/* Called by client_hash.c with the salted password, or NULL and why. */
void	cli_hash_done(struct cli *c, const char *salted, const char *why);

/* client_pool.c: the proxy connections. */
/*
 * client_resolve.c: host:port to an address with a blocking getaddrinfo,
 * for start-up only (local_host). Return: 0, or -1 with a reason in err.
 */
int	cli_resolve(const char *host, int port, struct sockaddr_storage *out,
	    socklen_t *outlen, char *err, size_t errlen);
void	cli_resolve_init(struct cli *c);
/*
 * Looks server_host up off the loop: c->addrs is filled and
 * cli_resolved(c, NULL) called (at once for a numeric address), or
 * cli_resolved(c, why) on failure. Return: 0, or -1 if no helper could
 * be started.
 */
int	cli_resolve_start(struct cli *c);
void	cli_resolve_cancel(struct cli *c);
/* client.c: the answer of cli_resolve_start. */
void	cli_resolved(struct cli *c, const char *why);

/* client_connect.c: racing connects to c->addrs (RFC 8305 style). */
void	cli_connect_init(struct cli *c);
/*
 * Orders c->addrs by alternating families, then starts the first connect
 * and the next one every CLI_STAGGER_MS (or at once when one fails) until
 * one connects: cli_connected(c, fd), with c->server_addr set to the
 * winner and every other attempt closed; or all fail: cli_connect_failed
 * with the last errno.
 */
void	cli_connect_start(struct cli *c);
/* Closes every attempt in flight. Idempotent. */
void	cli_connect_cancel(struct cli *c);
/* client.c: the outcome of cli_connect_start. fd becomes the caller's. */
void	cli_connected(struct cli *c, int fd);
void	cli_connect_failed(struct cli *c, int err);
void	cli_pool_fill(struct cli *c);
void	cli_pool_drop_idle(struct cli *c);
/* Closes every proxy connection that is not bridged. */
void	cli_pool_close_proxies(struct cli *c);
/* The same, and resets every bridged visitor. */
void	cli_pool_close_all(struct cli *c);
void	cli_pool_failed(struct cli *c);
/*
 * The server asks whether the proxy registered with counter k took its
 * visitor. One still idle is closed unread: it never will. Return: 1 if
 * START was read there (or it cannot be told: too old, unknown), else 0.
 */
int	cli_pool_withdraw(struct cli *c, uint64_t k);

#endif
