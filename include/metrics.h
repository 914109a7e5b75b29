/*
 * metrics: Prometheus' text exposition format (version 0.0.4), and the
 * small HTTP endpoint on the loop that serves it at GET /metrics.
 *
 * The daemon decides what is counted and who counts it; this module only
 * knows how the figures are written and how a scraper is answered. The
 * endpoint reads one request per connection, bounded in size and time,
 * answers GET /metrics with the text a render callback writes and
 * anything else with an error status, and closes: nothing a scraper (or
 * anyone who can reach the address) sends can hold more than
 * METRICS_MAX_CONNS small buffers for METRICS_DEADLINE_MS.
 */
#ifndef TUNNEL_METRICS_H
#define TUNNEL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define METRICS_MAX_REQUEST	4096	/* request line and headers */
#define METRICS_MAX_CONNS	16	/* scrapes at once; more wait */
#define METRICS_DEADLINE_MS	5000	/* to send a request and read the
					   answer */
#define METRICS_MAX_TEXT	(16u << 20) /* rendering past it fails */

/* A growing text buffer. failed: out of memory or past the cap. */
struct metrics_text {
	char	*buf;
	size_t	 len, cap;
	int	 failed;
};

void	metrics_text_init(struct metrics_text *t);
void	metrics_text_free(struct metrics_text *t);

/*
 * Writes a family's "# HELP" and "# TYPE" lines. type: "counter" or
 * "gauge". Each family is written once, before its samples.
 */
void	metrics_family(struct metrics_text *t, const char *name,
	    const char *type, const char *help);

/*
 * Writes one sample: name{label="value",...} value. The labels come as
 * name, value pairs ended by a NULL; values are escaped as the format
 * asks (backslash, double quote, newline).
 */
void	metrics_sample(struct metrics_text *t, const char *name,
	    uint64_t value, ...);

/* Fills t with the current figures. Return: 0, or -1 (answered 500). */
typedef int	metrics_render_fn(void *arg, struct metrics_text *t);

struct metrics_http;

/*
 * Listens on host (a numeric IPv4 or IPv6 address) and port, and serves
 * what render writes. Return: the endpoint, or NULL with errno set and
 * nothing open.
 */
struct metrics_http *metrics_http_new(struct loop *l, const char *host,
	    int port, metrics_render_fn *render, void *arg);

/* The port it listens on (useful when addr asked for port 0). */
int	metrics_http_port(const struct metrics_http *m);

/*
 * Closes the listener and every connection; m is freed once the loop
 * turns (or at loop_free). NULL is a no-op.
 */
void	metrics_http_free(struct metrics_http *m);

#endif
