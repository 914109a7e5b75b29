/*
 * server: the tunnel-server daemon's objects. Private to src/server*.c.
 *
 *   srv_listener  a listening socket: the main port, or a user's own port
 *   srv_conn      a tunnel connection before it is a session or a pooled
 *                 proxy: sniffing, preamble, login, registration
 *   srv_session   a logged-in client: its control connection, its idle
 *                 proxy connections and the visitors waiting for one
 *   srv_proxy     an idle proxy connection in a session's pool
 *   srv_visitor   a public connection: waiting for a proxy, bridged, or
 *                 being told "502" before it is closed
 */
#ifndef TUNNEL_SERVER_H
#define TUNNEL_SERVER_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "addrmap.h"
#include "auth.h"
#include "bridge.h"
#include "config.h"
#include "frameio.h"
#include "front_sniff.h"
#include "loop.h"
#include "net.h"
#include "proto.h"
#include "sys.h"
#include "tls.h"

#define SRV_SNIFF_MS		250	/* silent public peers wait this long */
#define SRV_HANDSHAKE_MS	10000	/* each login step (client hashes) */
#define SRV_FIRST_FRAME_MS	3000	/* preamble -> first frame: a client
					   sends both in one write */
#define SRV_HEARTBEAT_S		10	/* PING interval on control links */
#define SRV_KEEPIDLE_S		15	/* TCP keepalive idle, + 0..14 s */
#define SRV_DEAD_MISSES		3	/* intervals without a frame = dead */
#define SRV_MAX_LOGINS		1024	/* logins in progress, total */
#define SRV_MAX_LOGINS_ADDR	64	/* ... and per peer address */
#define SRV_MAX_FIRST_FRAME	1024	/* conns waiting for their first
					   frame; the oldest is dropped */
#define SRV_MAX_WAITING		4096	/* visitors waiting for a proxy */
#define SRV_MAX_ADDRS		4096	/* per-address records kept; the least
					   recently used is forgotten */
#define SRV_DRAIN_MS		2000	/* reading a rejected visitor's rest */
#define SRV_ACK_MS		1000	/* + 2 RTT: a proxy silent after START
					   is asked about (the client says
					   ACCEPTED after 100 ms if its dial
					   is slow) */
#define SRV_ASK_LATE		3	/* x ack time: START reached the next
					   hop but no answer came: ask then */
#define SRV_MAX_RETRIES		3	/* re-dispatches of one visitor */
#define SRV_REFRESH_GAP_MS	1000	/* between two REFRESH requests */
#define SRV_PEEK_MAX		16	/* first bytes judged for a 502 */
#define SRV_ACCEPT_PAUSE_MS	1000	/* after EMFILE, nothing to shed */
#define SRV_SHED_PAUSE_MS	50	/* after EMFILE, visitors shed */
#define SRV_SHED_BATCH		16
#define SRV_TRIM_VISITORS	256	/* this many gone: give memory back */
#define SRV_TRIM_DELAY_MS	1000	/* after the first of them left */
#define SRV_OUTBUF		4096
#define SRV_FRONT_MS		10000	/* a front visitor's request head */
#define SRV_FRONT_FIRST		1024	/* ... its first buffer, then x2 */
#define SRV_MAX_FRONT		1024	/* visitors reading their head or
					   ClientHello; the oldest is dropped */
#define SRV_FRONT_READS		64	/* reads one head may take: a head
					   trickled byte by byte is refused
					   before its parsing costs much */
/* The shipped unit's directories, below / or a test root. */
#define SRV_PACKAGED_CONFIG_DIR	"etc/tunnel"
#define SRV_PACKAGED_STATE_DIR	"var/lib/tunnel"
#define SRV_SECRET_FILE		"tunnel-server.secret"	/* beside the
							   config */
#define SRV_MAGIC_CONN		0x434f4e4eu
#define SRV_MAGIC_SESSION	0x53455353u
#define SRV_MAGIC_PROXY		0x50525859u
#define SRV_MAGIC_VISITOR	0x56495354u

struct srv;
struct srv_session;
struct metrics_http;

/*
 * Why a visitor was turned away (a 502 for HTTP): the reason label of
 * tunnel_visitor_failures_total, srv_fail_str() names them.
 */
enum srv_fail {
	SRV_FAIL_NONE = 0,
	SRV_FAIL_ADDRESS_LIMIT,	/* visitors_per_address reached */
	SRV_FAIL_NO_CLIENT,	/* no session for the port */
	SRV_FAIL_QUEUE_FULL,	/* SRV_MAX_WAITING visitors waiting */
	SRV_FAIL_NO_PROXY,	/* no proxy connection served it in time */
	SRV_FAIL_CLIENT_GONE,	/* the session or proxy ended under it */
	SRV_FAIL_LOCAL,		/* the client could not reach its service */
	SRV_FAIL_TIMEOUT,	/* the client did not answer in time */
	SRV_FAIL_PROTOCOL,	/* the client's answer was malformed */
	SRV_FAIL_RESOURCES,	/* out of memory or descriptors */
	SRV_FAIL_UNKNOWN_HOST,	/* front: no user may claim the name (404) */
	SRV_FAIL_BAD_REQUEST,	/* front: no usable request head (400) */
	SRV_FAIL_COUNT
};

/* How a login ended: the result label of tunnel_logins_total. */
enum srv_login {
	SRV_LOGIN_OK = 0,
	SRV_LOGIN_BAD_CREDENTIALS,	/* unknown user or wrong password */
	SRV_LOGIN_BUSY,			/* refused: too many at once, or held */
	SRV_LOGIN_COUNT
};

/* What the server counts beyond what its objects already hold. */
struct srv_stats {
	uint64_t		 fails[SRV_FAIL_COUNT];
	uint64_t		 logins[SRV_LOGIN_COUNT];
	int64_t			 started_s;	/* wall clock, Unix seconds */
};

struct srv_user {
	struct cfg_user		*cfg;
	char			 setting[PROTO_MAX_SETTING + 1];
	struct auth_keys	 keys;
	struct srv_session	*session;	/* live login, or NULL */
	struct srv_listener	*listener;	/* dedicated port, or NULL */
	/* counters of tunnel_visitors_total and tunnel_bytes_total; they
	   live as long as the user (a reload keeps them) */
	uint64_t		 visitors;
	uint64_t		 bytes_in, bytes_out;
	/* a scrape's tally of its sessions and their idle proxies */
	uint64_t		 nsessions, nidle;
	/* a plaintext password's HMAC under the server secret: a reload
	   that finds the same one reuses setting and keys, no crypt(3) */
	uint8_t			 plain_id[PROTO_KEY_LEN];
	int			 plain;
};

enum srv_front {
	SRV_FRONT_NONE = 0,	/* the main port, or a user's own */
	SRV_FRONT_HTTP,		/* http_port: routed by the Host header */
	SRV_FRONT_HTTPS,	/* https_port: routed by the TLS SNI */
};

struct srv_listener {
	struct handler		 h;
	struct srv		*srv;
	struct srv_user		*user;		/* NULL: the main port */
	enum srv_front		 front;
	int			 port;
	int			 gone;		/* its user was removed by a
						   reload: routes nowhere */
	struct timer		 pause;		/* EMFILE back-off */
};

/* Per peer address: logins in progress and recent failed logins. */
struct srv_addr {
	TAILQ_ENTRY(srv_addr)	 entry;		/* most recently used first */
	uint8_t			 ip[16];
	unsigned		 logins;
	unsigned		 failures;
	uint64_t		 last_failure_ms;
	/* a failed login hung up before its delayed answer: no new login
	   from here until the answer would have come */
	uint64_t		 hold_until_ms;
};

enum srv_conn_state {
	SRV_CONN_SNIFF = 0,	/* main port: public or tunnel? */
	SRV_CONN_PREAMBLE,	/* first byte was ours: reading the magic */
	SRV_CONN_TLS,		/* TLS handshake (transport: tls) */
	SRV_CONN_HELLO_WAIT,	/* expecting HELLO or REGISTER */
	SRV_CONN_PROOF_WAIT,	/* CHALLENGE sent, expecting PROOF */
	SRV_CONN_FAIL_DELAY,	/* failed login, answer slowed down */
	SRV_CONN_FLUSH,		/* last frame queued, close once written */
	SRV_CONN_DEAD,
};

struct srv_conn {
	uint32_t		 magic;
	enum srv_conn_state	 state;
	struct srv		*srv;
	struct handler		 h;
	struct timer		 deadline;
	uint64_t		 id;
	char			 peer[NET_ADDRSTRLEN];
	struct sockaddr_storage	 peer_addr;
	struct srv_addr		*addr;		/* while its login is counted */
	int			 counted;	/* in the login caps */
	struct srv_conn_queue	*first_frame;	/* the first-frame queue it
						   waits in, or NULL */
	uint64_t		 answer_ms;	/* FAIL_DELAY: when it is due */
	struct srv_listener	*listener;
	struct tls		*tls;		/* NULL: plain, or not yet */
	int			 tls_going;	/* ClientHello answered */
	uint8_t			 bind[AUTH_BIND_MAX]; /* its tls-exporter */
	size_t			 bindlen;	/* 0 with transport: plain */
	uint8_t			 in[PROTO_PREAMBLE_LEN + PROTO_MAX_FRAME];
	size_t			 inlen;
	uint8_t			 outmem[PROTO_MAX_FRAME];
	struct outbuf		 out;
	/* login in progress */
	struct srv_user		*user;		/* NULL for an unknown name */
	char			 username[PROTO_MAX_USER + 1];
	uint8_t			 am[AUTH_AM_MAX];
	size_t			 amlen;
	LIST_ENTRY(srv_conn)	 entry;
	TAILQ_ENTRY(srv_conn)	 waiting;	/* srv's first_frame queue */
};

enum srv_session_state {
	SRV_SESSION_READY = 0,
	SRV_SESSION_DEAD,
};

LIST_HEAD(srv_proxy_list, srv_proxy);
TAILQ_HEAD(srv_visitor_queue, srv_visitor);
LIST_HEAD(srv_visitor_list, srv_visitor);

struct srv_session {
	uint32_t		 magic;
	enum srv_session_state	 state;
	struct srv		*srv;
	struct srv_user		*user;
	struct handler		 h;
	struct tls		*tls;		/* NULL with transport: plain */
	struct timer		 heartbeat;
	uint64_t		 id;		/* connection id, for logs */
	uint64_t		 login_seq;	/* routing: newest wins */
	char			 peer[NET_ADDRSTRLEN];
	uint8_t			 peer_key[ADDRMAP_KEY_LEN]; /* its address,
						   as addrmap counts it */
	uint8_t			 sid[PROTO_SID_LEN];
	uint8_t			 key[PROTO_KEY_LEN];
	struct auth_window	 counters;	/* REGISTER counters used */
	uint64_t		 last_rx_ms;
	uint64_t		 ping_seq;
	uint64_t		 ping_sent_ms;	/* of ping_seq, 0 once answered */
	uint64_t		 rtt_ms;	/* last PING round trip */
	uint64_t		 refresh_ms;	/* last REFRESH sent */
	uint8_t			 in[PROTO_MAX_FRAME];
	size_t			 inlen;
	uint8_t			 outmem[SRV_OUTBUF];
	struct outbuf		 out;
	struct srv_proxy_list	 idle;
	size_t			 nidle;
	struct srv_visitor_queue waiting;
	struct srv_visitor_list	 recalls;	/* WITHDRAW sent, no answer */
	uint64_t		 served;
	int			 pool_size;	/* told in its WELCOME */
	/* by SERVICE index - 1: the name as the client asked, the full
	   name granted (NULL: refused), its flags, the ports last told */
	char			*asked[PROTO_MAX_SERVICES];
	char			*services[PROTO_MAX_SERVICES];
	uint8_t			 svc_flags[PROTO_MAX_SERVICES];
	struct {
		uint16_t	 http, https;
	}			 told[PROTO_MAX_SERVICES];
	size_t			 nservices;
	LIST_ENTRY(srv_session)	 entry;
};

struct srv_proxy {
	uint32_t		 magic;
	struct srv_session	*session;
	struct handler		 h;
	struct tls		*tls;		/* NULL with transport: plain */
	uint64_t		 id;
	uint64_t		 counter;	/* its REGISTER's */
	LIST_ENTRY(srv_proxy)	 entry;
};

enum srv_visitor_state {
	SRV_VISITOR_WAIT_PROXY = 0,	/* queued on a session */
	SRV_VISITOR_BRIDGED,		/* START sent, bytes moving */
	SRV_VISITOR_RECALL,		/* its proxy died unanswered: did the
					   client take it? (WITHDRAW sent) */
	SRV_VISITOR_PEEK,		/* to be turned away: HTTP or not? */
	SRV_VISITOR_DRAIN,		/* answered, reading the rest */
	SRV_VISITOR_FRONT,		/* front: reading the request head
					   (into replay) for its Host */
	SRV_VISITOR_FRONT_HELLO,	/* HTTPS front: reading the TLS
					   ClientHello (into replay) */
	SRV_VISITOR_FRONT_TLS,		/* HTTPS front: our TLS handshake */
	SRV_VISITOR_DEAD,
};

struct srv_visitor {
	uint32_t		 magic;
	enum srv_visitor_state	 state;
	struct srv		*srv;
	struct handler		 h;
	struct tls		*tls;		/* HTTPS front: the visitor's TLS,
						   which ends here; NULL else */
	struct timer		 timer;
	uint64_t		 id;
	char			 peer[NET_ADDRSTRLEN];
	char			 user[PROTO_MAX_USER + 1];
	struct srv_listener	*listener;
	struct addrmap_entry	*counted;	/* in srv's per-address count */
	struct srv_session	*session;	/* while waiting */
	struct bridge		*bridge;
	uint64_t		 started_ms;
	/* bytes consumed while sniffing; for a 502, the first bytes sent */
	uint8_t			 sniffed[PROTO_PREAMBLE_LEN + SRV_PEEK_MAX];
	size_t			 nsniffed;
	int			 waiting;	/* bytes seen in the socket */
	/* bytes sent into proxy connections that died before answering */
	uint8_t			*replay;
	size_t			 nreplay;
	size_t			 headcap;	/* FRONT: replay's size */
	int			 retries;
	uint64_t		 session_id;	/* of the proxy while bridged */
	uint64_t		 proxy_counter;	/* ... and its REGISTER counter */
	uint64_t		 deadline_ms;	/* for the client's answer */
	uint8_t			 status[PROTO_MAX_FRAME]; /* STATUS frame */
	size_t			 statuslen;
	int			 taken;		/* client has START (ACCEPTED,
						   WITHDRAWN taken) */
	int			 accepted;	/* ACCEPTED read (at most one) */
	int			 asked;		/* WITHDRAW sent for this START */
	int			 late;		/* START reached the next hop,
						   no answer yet: asked later */
	int			 dead;		/* asked as START went unacked */
	struct srv_session	*recall_ss;	/* asked, answer awaited */
	LIST_ENTRY(srv_visitor)	 recall;	/* in recall_ss->recalls */
	int			 ok;		/* client answered STATUS ok */
	int			 peeked;	/* waited for first bytes once */
	char			 reason[PROTO_MAX_REASON + 64]; /* of a 502 */
	uint64_t		 bytes_in, bytes_out;
	/* of those, already added to the counters of owner, the user it
	   was dispatched to (NULL before, or once a reload removed it) */
	uint64_t		 counted_in, counted_out;
	struct srv_user		*owner;
	enum srv_fail		 fail;		/* why it was turned away */
	char			 host[FRONT_MAX_NAME + 1]; /* front: the name
						   it asked for; "" else */
	int			 reads;		/* FRONT*: reads of its head */
	int			 in_front;	/* in srv's front queue */
	int			 acme_check;	/* FRONT_TLS: an ACME CA's
						   TLS-ALPN-01 handshake */
	TAILQ_ENTRY(srv_visitor) entry;		/* session's waiting queue, or
						   (FRONT*) srv's front queue */
	LIST_ENTRY(srv_visitor)	 all;		/* srv's visitors */
};

/* Which files the TLS key was read from, to see certbot replace them. */
struct srv_file_id {
	uint64_t		 dev, ino, size;
	int64_t			 mtime_s, mtime_ns;
};
struct srv_tls_files {
	struct srv_file_id	 cert, key;
};

/* A name of users[].hosts and the user it belongs to. */
struct srv_host {
	const char		*name;		/* in the user's cfg */
	struct srv_user		*user;
};

/* The HTTPS front's certificates, loaded from https_certs. */
struct srv_front_certs {
	struct tls_ctx		**ctx;		/* one per https_certs entry */
	struct srv_tls_files	*files;		/* ... what each was read from */
	size_t			 n;
};

/* A name acme: may serve, and its certificate (server_acme.c). */
struct srv_acme_name {
	char			 name[FRONT_MAX_NAME + 1];
	struct tls_ctx		*ctx;		/* NULL: none yet */
	int64_t			 not_after;	/* Unix seconds */
	int64_t			 renew_at;
	int64_t			 retry_at;	/* after a failure; 0: none */
	unsigned int		 fails;		/* in a row */
	int64_t			 hold_until;	/* the CA's Retry-After: kept
						   across reloads */
	int			 wanted;	/* claimed or asked for */
};

/* acme:, with at most one tunnel-acme running. */
struct srv_acme {
	int			 on;
	char			 dir[1024];	/* <state>/acme/<CA> */
	char			 helper[4096];	/* tunnel-acme's path */
	struct srv_acme_name	*names;
	size_t			 n;
	struct timer		 timer;		/* the next order or check */
	/* the running order: its helper, stdout (h) and stdin (to) */
	struct handler		 h;
	int			 to;
	sys_pid_t		 pid;		/* 0: none */
	int64_t			 deadline;
	int			 result;	/* it said done or fail */
	int			 challenge;	/* CFG_ACME_*, as started */
	unsigned int		 nlogs;		/* its log lines so far */
	char			 cur[FRONT_MAX_NAME + 1];
	char			 buf[2048];	/* its lines */
	size_t			 len;
	char			 token[128];	/* HTTP-01's, "" if none */
	char			 keyauth[256];
	struct tls_ctx		*alpn;		/* TLS-ALPN-01's, for cur */
};

LIST_HEAD(srv_session_list, srv_session);
LIST_HEAD(srv_conn_list, srv_conn);
TAILQ_HEAD(srv_addr_list, srv_addr);
TAILQ_HEAD(srv_conn_queue, srv_conn);

struct srv {
	struct loop		*loop;
	struct cfg_server	*cfg;
	struct bridge_ctx	 bctx;
	struct tls_ctx		*tls;		/* NULL with transport: plain */
	struct srv_tls_files	 tls_files;	/* tls was read from these */
	struct srv_user		**users;	/* each its own allocation:
						   sessions point at them */
	size_t			 nusers;
	struct srv_listener	 main;
	struct srv_listener	 orphan;	/* visitors of a removed
						   user's port point here */
	/* every user's hosts, sorted by name, for the front's routing;
	   NULL (out of memory): a walk over the users instead */
	struct srv_host		*hosts;
	size_t			 nhosts;
	struct srv_listener	 http;		/* http_port's; fd -1: off */
	struct srv_listener	 https;		/* https_port's; fd -1: off */
	struct srv_front_certs	 certs;		/* https_certs, loaded */
	struct srv_acme		 acme;
	uint8_t			 secret[PROTO_KEY_LEN];
	char			 fake_template[PROTO_MAX_SETTING + 1];
	struct srv_session_list	 sessions;
	struct srv_conn_list	 conns;
	struct srv_addr_list	 addrs;
	/* connections waiting for their first frame, oldest first: from an
	   address with a live session (its pool refills), and the others */
	struct srv_conn_queue	 first_frame_known;
	struct srv_conn_queue	 first_frame;
	struct srv_visitor_list	 visitors;
	struct srv_visitor_queue front;		/* FRONT*, oldest first */
	size_t			 nfront;
	struct addrmap		 visitor_addrs;	/* visitors per address */
	size_t			 nlogins;
	size_t			 nfirst_frame;
	size_t			 naddrs;
	size_t			 nwaiting;
	uint64_t		 next_id;
	uint64_t		 rng;		/* spreads keepalive timers */
	uint64_t		 login_seq;
	uint64_t		 visitors_total;
	uint64_t		 visitors_bridged;
	struct timer		 sweep;
	size_t			 nvisitors;	/* open now */
	size_t			 visitors_peak;	/* most open since last trim */
	struct timer		 trim;
	int			 stopping;	/* listeners closed */
	struct timer		 grace;		/* bridges finishing: the end */
	struct srv_stats	 stats;
	struct metrics_http	*metrics;	/* metrics_listen's, or NULL */
};

/*
 * server.c: set-up, listeners, routing, shutdown. secret is the one
 * behind unknown users' fake salts (srv_secret_load).
 */
int	srv_init(struct srv *s, struct loop *l, struct cfg_server *cfg,
	    const uint8_t secret[PROTO_KEY_LEN], int no_splice);
/*
 * A graceful stop: closes the listeners (new visitors are refused), every
 * handshake, session and visitor not yet bridged, and lets the bridged
 * visitors finish for cfg->shutdown_grace seconds; the loop is stopped
 * when the last one leaves or, after resetting what is left, when the
 * grace runs out. Return: 1 when nothing is left to wait for (the caller
 * stops the loop), 0 while bridged visitors finish.
 */
int	srv_drain(struct srv *s);
/* Stops at once: every connection is closed, bridges reset. Idempotent. */
void	srv_shutdown(struct srv *s);
void	srv_free(struct srv *s);
struct srv_session *srv_route(struct srv *s, struct srv_listener *li);
/*
 * The front's routing: the user whose hosts hold host (NULL: nobody may
 * claim it), and, through *ss, its live session (else NULL, with why
 * filled for the 502).
 */
struct srv_user *srv_route_host(struct srv *s, const char *host,
	    struct srv_session **ss, char *why, size_t whylen);
/*
 * (Re)builds s->hosts from the users' hosts: at start, and after a reload
 * has replaced the users and their configuration.
 */
void	srv_hosts_index(struct srv *s);
/* The SERVICE index under which ss serves host, or 0. */
int	srv_session_service(const struct srv_session *ss, const char *host);
/*
 * Listens on port for li (u: the user it serves, NULL for the main port).
 * Return: 0, or -1 with errno set and nothing open.
 */
int	srv_listener_open(struct srv *s, struct srv_listener *li, int port,
	    struct srv_user *u);
void	srv_listener_close(struct srv *s, struct srv_listener *li);
/* to listens on from's socket from now on; from is left closed. */
int	srv_listener_take(struct srv *s, struct srv_listener *to,
	    struct srv_listener *from);
/*
 * Derives u's setting and keys from cu (u->cfg = cu) and wipes cu's
 * password. old, the running user of that name on a reload (or NULL),
 * lends its setting and keys when its plaintext password is the same,
 * sparing a crypt(3) in the loop. path names the config in messages.
 * Return: 0, or -1 after logging why.
 */
int	srv_user_prepare(struct srv *s, struct srv_user *u,
	    struct cfg_user *cu, const struct srv_user *old,
	    const char *path);
/*
 * The record of peer's address (IPv4, or IPv6 by /64), created if need be
 * and marked most recently used. A full table forgets its least recently
 * used record with no login in progress. Return: NULL only when out of
 * memory.
 */
struct srv_addr *srv_addr_get(struct srv *s,
	    const struct sockaddr_storage *peer);
/* Frees a's record if it holds nothing worth keeping. */
void	srv_addr_release(struct srv *s, struct srv_addr *a);
struct srv_user *srv_user_find(struct srv *s, const char *name);
/* Counts a visitor gone; after a crowd, hands freed memory back. */
void	srv_visitor_gone(struct srv *s);

/*
 * server_reload.c: applies next, a configuration loaded after SIGHUP (its
 * default TLS paths filled in), to the running daemon: users added,
 * removed or changed, ports opened and closed, the TLS key read again,
 * the live settings. Keys that cannot change live keep their running
 * value and are reported. Everything that can fail is done before
 * anything changes. Return: 0 with next's contents moved into s->cfg
 * (next is left empty), or -1 after logging why, with nothing changed.
 */
int	srv_reload(struct srv *s, struct cfg_server *next);
/*
 * Fills *now with which files cert and key are at present (zeros for one
 * that cannot be read). Return: 0, or -1 if one cannot be read.
 */
int	srv_tls_files_get(const char *cert, const char *key,
	    struct srv_tls_files *now);

/*
 * server_secret.c: reads SRV_SECRET_FILE from its directory (see
 * srv_state_dir) into secret, making it first if it does not exist.
 * Return: 0, or -1 with a one-line reason in err.
 */
int	srv_secret_load(const char *config_path,
	    uint8_t secret[PROTO_KEY_LEN], char *err, size_t errlen);
/*
 * The directory of a file the server makes itself (name: the secret, the
 * TLS key and certificate): beside config_path, unless a state directory
 * applies and no such file is beside the config yet. The state directory
 * is systemd's StateDirectory ($STATE_DIRECTORY, its first entry), or,
 * for a config in <root>/etc/tunnel (the shipped unit's layout),
 * <root>/var/lib/tunnel. Return: 0 with dir filled, or -1 if it does not
 * fit in len.
 */
int	srv_state_dir(const char *config_path, const char *name, char *dir,
	    size_t len);
/*
 * A file root just made, in a directory another user owns (the service's
 * state directory), goes to that user and group: root running the server
 * by hand must not leave a key the service cannot read. Return: 0, or -1
 * with errno set.
 */
int	srv_give_to_dir_owner(const char *path);

/*
 * server_acme.c: certificates from acme:. srv_acme_init starts it when
 * the configuration has acme (0, or -1 when it cannot: no tunnel-acme,
 * no state directory); srv_acme_reload follows a reload's new users and
 * https_certs; srv_acme_free stops it.
 */
int	srv_acme_init(struct srv *s);
void	srv_acme_reload(struct srv *s);
void	srv_acme_free(struct srv *s);
/* The certificate acme obtained for name, or NULL. */
struct tls_ctx *srv_acme_ctx(struct srv *s, const char *name);
/* name is needed (claimed, or asked for): order it if acme may. */
void	srv_acme_need(struct srv *s, const char *name);
/*
 * HTTP-01: the key authorization for token (len bytes) asked for under
 * host, or NULL unless that is the running order's name and token.
 */
const char *srv_acme_answer(struct srv *s, const char *host,
	    const char *token, size_t len);
/* TLS-ALPN-01: the context that answers acme-tls/1 for name, or NULL. */
struct tls_ctx *srv_acme_alpn_ctx(struct srv *s, const char *name);

/*
 * server_metrics.c: the figures of GET /metrics. Opens the endpoint at
 * addr ("ip:port") into *out. Return: 0, or -1 with errno set.
 */
int	srv_metrics_open(struct srv *s, const char *addr,
	    struct metrics_http **out);
const char *srv_fail_str(enum srv_fail f);

/* server_conn.c: sniffing and the login and registration handshakes. */
void	srv_conn_accept(struct srv *s, struct srv_listener *li, int fd,
	    const struct sockaddr_storage *peer);
void	srv_conn_close(struct srv_conn *c, const char *reason);

/* server_session.c: logged-in clients and their pools. */
/* The session owns fd and t (NULL for plain) from then on, even on error. */
struct srv_session *srv_session_new(struct srv *s, struct srv_user *u,
	    int fd, struct tls *t, const struct sockaddr_storage *peer_addr,
	    const char *peer, const uint8_t client_key[PROTO_KEY_LEN], const uint8_t *am,
	    size_t amlen);
int	srv_session_send(struct srv_session *ss, const struct proto_msg *m);
void	srv_session_close(struct srv_session *ss, int fail_code,
	    const char *reason);
/*
 * Pools the connection of from (a handshake's handler, registered or not,
 * with its TLS t or NULL) after checking r, whose MAC covers bind (the
 * connection's tls-exporter); its registration and t move to the pool.
 * Return: 0, or -1 with *why (and *code for FAIL) and the caller still
 * owning the fd and t.
 */
int	srv_session_register(struct srv *s, struct handler *from,
	    struct tls *t, const uint8_t *bind, size_t bindlen,
	    const char *peer, const struct proto_register *r,
	    const char **why, int *code);
struct srv_session *srv_session_find(struct srv *s,
	    const uint8_t sid[PROTO_SID_LEN]);
struct srv_session *srv_session_by_id(struct srv *s, uint64_t id);
/* Drops ss's idle proxies (they look dead) and asks for a new pool. */
void	srv_session_refresh(struct srv_session *ss, const char *why);
/* How long a proxy may stay silent after START before it counts as dead. */
uint64_t srv_session_ack_ms(const struct srv_session *ss);
/*
 * Takes an idle proxy fd from ss (or -1 if none). *h is its handler, still
 * registered, for bridge_adopt(); closing the fd instead is also fine.
 * *t is its TLS (NULL for plain), the caller's to free.
 */
int	srv_session_take_proxy(struct srv_session *ss, uint64_t *proxy_id,
	    uint64_t *counter, struct handler **h, struct tls **t);
/*
 * Asks the client whether it took v's START (WITHDRAW over the control
 * connection) and files v until the answer, which goes to
 * srv_visitor_withdrawn(). Return: 0, or -1 if it cannot be asked.
 */
int	srv_session_withdraw(struct srv_session *ss, struct srv_visitor *v);
/* Forgets v's question (v is closing or going elsewhere). */
void	srv_session_unrecall(struct srv_visitor *v);
/*
 * After a reload: each service of ss is granted or withdrawn again by the
 * running configuration, and the client is sent a ROUTE for each change.
 */
void	srv_session_regrant(struct srv_session *ss);

/*
 * server_front.c: the HTTPS front's certificates. Loads every https_certs
 * entry of cfg into out (which the caller frees with srv_front_certs_free).
 * Return: 0, or -1 after logging why (out is then empty).
 */
int	srv_front_certs_load(const struct cfg_server *cfg,
	    struct srv_front_certs *out);
void	srv_front_certs_free(struct srv_front_certs *c);
/* Whether cfg's files are the ones c was loaded from, unchanged. */
int	srv_front_certs_same(const struct srv_front_certs *c,
	    const struct cfg_server *cfg);
/* The first certificate valid for name, or NULL. */
struct tls_ctx *srv_front_ctx(struct srv *s, const char *name);
/* The same among https_certs alone. */
struct tls_ctx *srv_front_file_ctx(struct srv *s, const char *name);
/*
 * Whether https://name/ works on the HTTPS front: a certificate covers
 * name, or its service takes the TLS whole (passthrough).
 */
int	srv_front_https(struct srv *s, const char *name);
/*
 * Writes a TLS fatal alert (an unrecognized_name, a handshake_failure) in
 * the clear to fd, for a visitor turned away before any handshake.
 */
void	srv_front_alert(int fd, uint8_t description);
#define SRV_ALERT_HANDSHAKE_FAILURE	40
#define SRV_ALERT_UNRECOGNIZED_NAME	112

/* server_visitor.c: public connections. */
/* waiting: more of the visitor's bytes are known to be in the socket. */
void	srv_visitor_new(struct srv *s, struct srv_listener *li, int fd,
	    const struct sockaddr_storage *addr, const char *peer,
	    const uint8_t *sniffed, size_t nsniffed, int waiting);
void	srv_visitor_wake(struct srv_session *ss);
void	srv_visitor_reroute(struct srv *s, struct srv_visitor *v);
/*
 * The client's answer to WITHDRAW: taken 0 (it never read START and never
 * will), 1 (it did), or -1 (no answer will come: the session ended).
 */
void	srv_visitor_withdrawn(struct srv_visitor *v, int taken);
void	srv_visitor_close(struct srv_visitor *v, const char *reason);
/* Adds what v moved since the last call to its user's byte counters. */
void	srv_visitor_sync(struct srv_visitor *v);
size_t	srv_visitor_shed(struct srv *s, size_t n);

#endif
