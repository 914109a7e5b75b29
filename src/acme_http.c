/*
 * acme_http: the helper's HTTPS through libcurl's easy interface, which
 * may block: the helper is its own process and does one thing at a time.
 * One handle is kept for the whole order, so its connection to the CA is
 * reused. Only https is allowed, redirects are not followed (ACME never
 * needs them), and every request has a deadline. From each answer the
 * headers ACME uses are kept: Replay-Nonce, Location, Retry-After and the
 * Content-Type that tells a problem document from a resource.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "acme.h"

#define HTTP_TIMEOUT	30L	/* seconds for a whole request */
#define HTTP_CONNECT	10L

static CURL *curl;
static char ca[ACME_URL_MAX];

int
acme_http_init(const char *ca_file)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (curl = curl_easy_init()) == NULL)
		return -1;
	(void)snprintf(ca, sizeof(ca), "%s", ca_file == NULL ? "" : ca_file);
	return 0;
}

/* Copies header value v (n bytes) into out, white space trimmed. */
static void
header_value(const char *v, size_t n, char *out, size_t outlen)
{
	while (n > 0 && isspace((unsigned char)*v))
		v++, n--;
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	if (n >= outlen)
		n = 0;		/* too long to be right: treated as absent */
	memcpy(out, v, n);
	out[n] = '\0';
}

/* Whether line (n bytes) is header name; its value then starts at *v. */
static int
header_is(const char *line, size_t n, const char *name, const char **v)
{
	size_t k = strlen(name);

	if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
		return 0;
	*v = line + k + 1;
	return 1;
}

static size_t
on_header(char *line, size_t size, size_t nitems, void *arg)
{
	struct acme_reply *r = arg;
	size_t n = size * nitems;
	const char *v;
	char num[16];

	if (header_is(line, n, "Replay-Nonce", &v))
		header_value(v, n - (size_t)(v - line), r->nonce,
		    sizeof(r->nonce));
	else if (header_is(line, n, "Location", &v))
		header_value(v, n - (size_t)(v - line), r->location,
		    sizeof(r->location));
	else if (header_is(line, n, "Content-Type", &v))
		header_value(v, n - (size_t)(v - line), r->content_type,
		    sizeof(r->content_type));
	else if (header_is(line, n, "Retry-After", &v)) {
		/* Seconds only; an HTTP date counts as "a while". */
		header_value(v, n - (size_t)(v - line), num, sizeof(num));
		if (num[0] >= '0' && num[0] <= '9') {
			unsigned long s = strtoul(num, NULL, 10);

			r->retry_after = s > 7 * 86400 ? 7 * 86400 :
			    (unsigned int)s;
		} else
			r->retry_after = 10;
	}
	return n;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct acme_reply *r = arg;
	size_t n = size * nmemb;
	char *b;

	if (r->len + n > ACME_BODY_MAX)
		return 0;	/* libcurl ends the transfer with an error */
	if ((b = realloc(r->body, r->len + n + 1)) == NULL)
		return 0;
	memcpy(b + r->len, p, n);
	r->len += n;
	b[r->len] = '\0';
	r->body = b;
	return n;
}

int
acme_http(const char *url, const char *body, struct acme_reply *r,
    char *err, size_t errlen)
{
	struct curl_slist *hdr = NULL;
	char cerr[CURL_ERROR_SIZE] = "";
	CURLcode c;

	memset(r, 0, sizeof(*r));
	curl_easy_reset(curl);
	if (body != NULL &&
	    (hdr = curl_slist_append(NULL,
	    "Content-Type: application/jose+json")) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	(void)curl_easy_setopt(curl, CURLOPT_URL, url);
	(void)curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	(void)curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(curl, CURLOPT_TIMEOUT, HTTP_TIMEOUT);
	(void)curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT);
	(void)curl_easy_setopt(curl, CURLOPT_USERAGENT,
	    "tunnel-acme/" TUNNEL_VERSION);
	(void)curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	(void)curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
	(void)curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	if (ca[0] != '\0')
		(void)curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
	if (body != NULL) {
		(void)curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
		(void)curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	}
	c = curl_easy_perform(curl);
	curl_slist_free_all(hdr);
	if (c != CURLE_OK) {
		(void)snprintf(err, errlen, "%s: %s", url,
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(c));
		acme_reply_free(r);
		return -1;
	}
	(void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	return 0;
}

void
acme_reply_free(struct acme_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
