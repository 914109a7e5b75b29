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
#include "loop.h"
#include "net.h"
#include "proto.h"

#define CLI_BACKOFF_MIN_MS	1000
#define CLI_BACKOFF_MAX_MS	30000
#define CLI_DEAD_MISSES		3
#define CLI_REFILL_MIN_MS	200
#define CLI_REFILL_MAX_MS	5000
#define CLI_DRAIN_MS		2000
#define CLI_ACCEPT_MS		100	/* dial still going: say ACCEPTED */
#define CLI_KEEPALIVE_MS	1000	/* a proxy connection's age for it */
#define CLI_HASH_TIMEOUT_MS	8000	/* under the server's 10 s step */
#define CLI_OUTBUF		4096
#define CLI_MAGIC_PROXY		0x43505859u

enum cli_state {
	CLI_IDLE = 0,		/* not started, or stopped */
	CLI_CONNECTING,		/* TCP connect to the server */
	CLI_CHALLENGE_WAIT,	/* HELLO sent */
	CLI_HASHING,		/* CHALLENGE read, crypt(3) in a child */
	CLI_WELCOME_WAIT,	/* PROOF sent */
	CLI_READY,		/* logged in: pool kept full */
	CLI_BACKOFF,		/* waiting to reconnect */
	CLI_DONE,		/* gave up for good (bad credentials...) */
};

enum cli_proxy_state {
	CLI_PROXY_CONNECTING = 0,	/* TCP connect to the server */
	CLI_PROXY_IDLE,			/* REGISTER sent, waiting for START */
	CLI_PROXY_DIAL_LOCAL,		/* START read, dialing local service */
	CLI_PROXY_DRAIN,		/* STATUS FAIL sent, reading the rest */
	CLI_PROXY_DEAD,
};

struct cli;

struct cli_proxy {
	uint32_t		 magic;
	enum cli_proxy_state	 state;
	struct cli		*cli;
	uint64_t		 epoch;		/* session it was dialed for */
	struct handler		 h;		/* the tunnel socket */
	struct handler		 local;		/* local service, DIAL_LOCAL */
	struct timer		 timer;
	uint8_t			 in[PROTO_MAX_FRAME];
	size_t			 inlen;
	uint64_t		 visitor_id;
	char			 visitor[PROTO_MAX_ADDR * 4 + 1];
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
	enum cli_state		 state;
	int			 exit_code;
	char			 server_host[256];
	int			 server_port;
	struct sockaddr_storage	 server_addr;
	socklen_t		 server_addrlen;
	struct sockaddr_storage	 local_addr;
	socklen_t		 local_addrlen;
	char			 local_desc[128];
	int			 local_loopback; /* dials finish in connect() */
	/* control connection */
	struct handler		 h;
	struct timer		 timer;		/* deadline, heartbeat, backoff */
	uint8_t			 in[PROTO_MAX_FRAME];
	size_t			 inlen;
	uint8_t			 out[CLI_OUTBUF];
	size_t			 outlen;
	uint64_t		 last_rx_ms;
	uint64_t		 ping_seq;
	unsigned		 attempt;	/* reconnects since last login */
	int			 was_up;	/* a login succeeded once */
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
	/* crypt(3) running in a child (client_hash.c) */
	struct handler		 hash_h;
	struct timer		 hash_timer;
	pid_t			 hash_pid;
	char			 hash_buf[AUTH_HASH_MAX];
	size_t			 hash_len;
	/* session */
	uint64_t		 epoch;		/* increments per login */
	uint8_t			 sid[PROTO_SID_LEN];
	uint8_t			 skey[PROTO_KEY_LEN];
	uint64_t		 counter;
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

/* client.c: the control session. */
int	cli_init(struct cli *c, struct loop *l, struct cfg_client *cfg,
	    int no_splice, char *err, size_t errlen);
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

/* client_hash.c: crypt(3) off the loop, bounded in time. */
int	cli_hash_start(struct cli *c, const char *setting);
void	cli_hash_cancel(struct cli *c);
/* Called by client_hash.c with the salted password, or NULL and why. */
void	cli_hash_done(struct cli *c, const char *salted, const char *why);

/* client_pool.c: the proxy connections. */
/*
 * client_resolve.c: host:port to an address (blocking getaddrinfo: call at
 * start-up or before a reconnect, never per visitor). Return: 0, or -1
 * with a reason in err.
 */
int	cli_resolve(const char *host, int port, struct sockaddr_storage *out,
	    socklen_t *outlen, char *err, size_t errlen);
void	cli_pool_fill(struct cli *c);
void	cli_pool_drop_idle(struct cli *c);
/* Closes every proxy connection that is not bridged. */
void	cli_pool_close_proxies(struct cli *c);
/* The same, and resets every bridged visitor. */
void	cli_pool_close_all(struct cli *c);
void	cli_pool_failed(struct cli *c);

#endif
