/*
 * server_metrics: what GET /metrics reports of a running server.
 *
 * Nothing is counted twice here: each figure is read where the room that
 * owns it keeps it (the users' visitors and bytes, the failures and
 * logins in srv's stats, the sessions and their idle pools, the pipe
 * pool) at the moment of the scrape, so a scrape costs one walk over the
 * sessions and the open visitors and nothing at all between scrapes.
 * Bytes of a visitor still open are added to its user's counter as they
 * are read (srv_visitor_sync), so a long download shows while it runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "pipe.h"
#include "server.h"
#include "sys.h"

static const char *const fail_names[SRV_FAIL_COUNT] = {
	[SRV_FAIL_NONE] = "none",
	[SRV_FAIL_ADDRESS_LIMIT] = "address_limit",
	[SRV_FAIL_NO_CLIENT] = "no_client",
	[SRV_FAIL_QUEUE_FULL] = "queue_full",
	[SRV_FAIL_NO_PROXY] = "no_proxy",
	[SRV_FAIL_CLIENT_GONE] = "client_gone",
	[SRV_FAIL_LOCAL] = "local_service",
	[SRV_FAIL_TIMEOUT] = "timeout",
	[SRV_FAIL_PROTOCOL] = "bad_answer",
	[SRV_FAIL_RESOURCES] = "resources",
	[SRV_FAIL_UNKNOWN_HOST] = "unknown_host",
	[SRV_FAIL_BAD_REQUEST] = "bad_request",
};

static const char *const login_names[SRV_LOGIN_COUNT] = {
	[SRV_LOGIN_OK] = "ok",
	[SRV_LOGIN_BAD_CREDENTIALS] = "bad_credentials",
	[SRV_LOGIN_BUSY] = "busy",
};

const char *
srv_fail_str(enum srv_fail f)
{
	return f >= 0 && f < SRV_FAIL_COUNT ? fail_names[f] : "?";
}

/* Each user's sessions and their idle proxy connections, in one walk. */
static void
tally_sessions(struct srv *s)
{
	struct srv_session *ss;
	size_t i;

	for (i = 0; i < s->nusers; i++)
		s->users[i]->nsessions = s->users[i]->nidle = 0;
	LIST_FOREACH(ss, &s->sessions, entry) {
		if (ss->state != SRV_SESSION_READY)
			continue;
		ss->user->nsessions++;
		ss->user->nidle += ss->nidle;
	}
}

static int
render(void *arg, struct metrics_text *t)
{
	struct srv *s = arg;
	struct srv_visitor *v;
	struct sys_proc proc;
	size_t i;
	int f;

	/* Open visitors' bytes so far go to their users first. */
	LIST_FOREACH(v, &s->visitors, all)
		srv_visitor_sync(v);
	tally_sessions(s);

	metrics_family(t, "tunnel_build_info", "gauge",
	    "The version of tunnel-server.");
	metrics_sample(t, "tunnel_build_info", 1, "version", TUNNEL_VERSION,
	    NULL);

	metrics_family(t, "tunnel_visitors_total", "counter",
	    "Public connections that reached a user's port or session.");
	for (i = 0; i < s->nusers; i++)
		metrics_sample(t, "tunnel_visitors_total",
		    s->users[i]->visitors, "user", s->users[i]->cfg->username,
		    NULL);

	metrics_family(t, "tunnel_visitors_active", "gauge",
	    "Public connections open now.");
	metrics_sample(t, "tunnel_visitors_active", s->nvisitors, NULL);

	metrics_family(t, "tunnel_visitors_waiting", "gauge",
	    "Public connections waiting for a free proxy connection.");
	metrics_sample(t, "tunnel_visitors_waiting", s->nwaiting, NULL);

	metrics_family(t, "tunnel_visitor_failures_total", "counter",
	    "Public connections turned away (a 502 for HTTP), by reason.");
	for (f = SRV_FAIL_NONE + 1; f < SRV_FAIL_COUNT; f++)
		metrics_sample(t, "tunnel_visitor_failures_total",
		    s->stats.fails[f], "reason", fail_names[f], NULL);

	metrics_family(t, "tunnel_bytes_total", "counter",
	    "Bytes carried for visitors: in from visitors to the local "
	    "service, out back to visitors.");
	for (i = 0; i < s->nusers; i++) {
		const struct srv_user *u = s->users[i];

		metrics_sample(t, "tunnel_bytes_total", u->bytes_in, "user",
		    u->cfg->username, "direction", "in", NULL);
		metrics_sample(t, "tunnel_bytes_total", u->bytes_out, "user",
		    u->cfg->username, "direction", "out", NULL);
	}

	metrics_family(t, "tunnel_sessions", "gauge",
	    "Logged-in tunnel clients.");
	for (i = 0; i < s->nusers; i++)
		metrics_sample(t, "tunnel_sessions", s->users[i]->nsessions,
		    "user", s->users[i]->cfg->username, NULL);

	metrics_family(t, "tunnel_pool_idle", "gauge",
	    "Idle pre-dialed proxy connections, ready for a visitor.");
	for (i = 0; i < s->nusers; i++)
		metrics_sample(t, "tunnel_pool_idle", s->users[i]->nidle,
		    "user", s->users[i]->cfg->username, NULL);

	metrics_family(t, "tunnel_logins_total", "counter",
	    "Tunnel client logins, by result.");
	for (f = 0; f < SRV_LOGIN_COUNT; f++)
		metrics_sample(t, "tunnel_logins_total", s->stats.logins[f],
		    "result", login_names[f], NULL);

	metrics_family(t, "tunnel_pipes_in_use", "gauge",
	    "Kernel pipes lent to bridges for splice.");
	metrics_sample(t, "tunnel_pipes_in_use",
	    s->bctx.pipes != NULL ? pipe_in_use(s->bctx.pipes) : 0, NULL);

	metrics_family(t, "tunnel_bridge_bytes_total", "counter",
	    "Bytes bridges moved, by path: splice in the kernel, or copy "
	    "through user space (TLS, or no splice).");
	metrics_sample(t, "tunnel_bridge_bytes_total", s->bctx.spliced,
	    "path", "splice", NULL);
	metrics_sample(t, "tunnel_bridge_bytes_total", s->bctx.copied,
	    "path", "copy", NULL);

	sys_proc_stats(&proc);
	if (proc.open_fds != 0) {
		metrics_family(t, "process_open_fds", "gauge",
		    "Open file descriptors.");
		metrics_sample(t, "process_open_fds", proc.open_fds, NULL);
	}
	if (proc.max_fds != 0) {
		metrics_family(t, "process_max_fds", "gauge",
		    "The limit on open file descriptors.");
		metrics_sample(t, "process_max_fds", proc.max_fds, NULL);
	}
	if (proc.rss_bytes != 0) {
		metrics_family(t, "process_resident_memory_bytes", "gauge",
		    "Resident memory size in bytes.");
		metrics_sample(t, "process_resident_memory_bytes",
		    proc.rss_bytes, NULL);
	}
	metrics_family(t, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch in seconds.");
	metrics_sample(t, "process_start_time_seconds",
	    (uint64_t)s->stats.started_s, NULL);
	return t->failed ? -1 : 0;
}

int
srv_metrics_open(struct srv *s, const char *addr, struct metrics_http **out)
{
	char host[256];
	int port;

	if (cfg_split_hostport(addr, host, sizeof(host), &port) == -1)
		return -1;
	if ((*out = metrics_http_new(s->loop, host, port, render, s)) == NULL)
		return -1;
	return 0;
}
