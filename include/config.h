/*
 * config: the YAML files of both binaries (libyaml). Loading fills a struct
 * whose every field has a default (cfg_*_init), walks the document with a
 * key table, and reports the first problem as "file:line:col: message"
 * (1-based) into a caller buffer: unknown keys (with a did-you-mean),
 * duplicate keys, wrong node types, numbers out of range, duplicate
 * usernames or ports, crypt(3) hashes libxcrypt cannot use and hashes
 * outside crypt_policy (too cheap or too dear). Aliases are refused. Nothing here knows about sockets or the event loop.
 */
#ifndef TUNNEL_CONFIG_H
#define TUNNEL_CONFIG_H

#include <stddef.h>

#include "auth.h"

#define CFG_DEFAULT_PORT		3339
#define CFG_DEFAULT_POOL_SIZE		20
#define CFG_DEFAULT_CONNECT_TIMEOUT	60	/* server, seconds */
#define CFG_DEFAULT_CLIENT_TIMEOUT	30	/* client, seconds */
/* A webhook sender behind one NAT never holds this many at once. */
#define CFG_DEFAULT_VISITORS_PER_ADDRESS 1000
#define CFG_DEFAULT_PIPE_MEMORY_MB	128	/* bytes held while bridging */
#define CFG_DEFAULT_SHUTDOWN_GRACE	10	/* both, seconds */
#define CFG_MAX_SHUTDOWN_GRACE		3600
#define CFG_DEFAULT_LOG_PATH		"logs"
#define CFG_DEFAULT_SERVER_FILE		"tunnel-server-config.yaml"
#define CFG_DEFAULT_CLIENT_FILE		"tunnel-client-config.yaml"
#define CFG_MAX_FILE_SIZE		(1024 * 1024)
#define CFG_MAX_USERS			1000
#define CFG_MAX_HOSTS			32	/* per user, and per client */
#define CFG_MAX_CERTS			64	/* https_certs */
/* transport: what the tunnel link speaks (the preamble's transport byte). */
#define CFG_TRANSPORT_PLAIN		0
#define CFG_TRANSPORT_TLS		1
/* Made on first run next to the server's config unless tls_cert/tls_key. */
#define CFG_DEFAULT_TLS_CERT		"tunnel-server.crt"
#define CFG_DEFAULT_TLS_KEY		"tunnel-server.key"
#define CFG_DEFAULT_ACME_DIRECTORY \
	"https://acme-v02.api.letsencrypt.org/directory"
/*
 * The password of tunnel-server-config.yaml.example and its hash there:
 * refused at load, so a copied example never opens a server to everyone.
 */
#define CFG_EXAMPLE_PASSWORD		"change-me"
#define CFG_EXAMPLE_HASH \
	"$y$j9T$M/s7xxNy7RLPB8kV6aNHU.$5Di7Z9hm1NmA9cdAvB57a/IKvf6MXyQjavDWcCErMi5"
/* server_fingerprint: any key whose certificate a trusted CA signed. */
#define CFG_FP_CA			"ca"

struct cfg_user {
	char		*username;	/* 1..PROTO_MAX_USER bytes, no control chars */
	char		*password;	/* as written: plaintext or crypt hash */
	int		 is_plaintext;	/* password is not a crypt hash */
	int		 port;		/* dedicated public port, 0 = main port */
	char		**hosts;	/* full host names it may claim,
					   lowercase (a bare label was put
					   under domain at load) */
	size_t		 nhosts;
	int		 line;		/* 1-based line of the entry, for logs */
};

/* A client's service by host name: visitors asking for host go to it. */
struct cfg_service {
	char		*host;		/* a label under the server's domain,
					   or a full name; lowercase */
	char		*local_host;	/* default "127.0.0.1" */
	int		 local_port;	/* 1..65535 */
	int		 passthrough;	/* HTTPS front: the visitor's TLS
					   reaches the service as it is */
};

/* A certificate chain and its key for the HTTPS front. */
struct cfg_cert {
	char		*cert;		/* certbot's fullchain.pem */
	char		*key;		/* ... and privkey.pem */
};

/* acme: certificates from an ACME CA for the users' host names. */
#define CFG_ACME_HTTP_01		1	/* on http_port */
#define CFG_ACME_TLS_ALPN_01		2	/* on https_port */
struct cfg_acme {
	char		*directory;	/* the CA's directory URL (https) */
	char		*email;		/* the account's contact; NULL: none */
	char		*ca_file;	/* trust for the directory's HTTPS;
					   NULL: the system's */
	int		 challenge;	/* CFG_ACME_*; by default HTTP-01
					   with http_port, else TLS-ALPN-01 */
};

struct cfg_server {
	char		*path;		/* file it was loaded from */
	int		 port;		/* 1..65535 */
	int		 pool_size;	/* 1..PROTO_MAX_POOL */
	int		 connect_timeout; /* 1..3600 seconds */
	int		 idle_timeout;	/* 0 = none, else seconds (1..604800) */
	int		 visitors_per_address; /* 0 = no cap, else 1..1000000 */
	int		 pipe_memory_mb; /* budget for bridged bytes, 1..65536 */
	int		 shutdown_grace; /* seconds bridges may finish; 0..3600 */
	int		 transport;	/* CFG_TRANSPORT_*, default TLS */
	char		*tls_cert;	/* NULL: CFG_DEFAULT_TLS_CERT by path */
	char		*tls_key;	/* NULL: CFG_DEFAULT_TLS_KEY by path */
	char		*metrics_listen; /* "ip:port", "[v6]:port"; NULL: off */
	char		*domain;	/* users' bare host labels go under it;
					   NULL: no front */
	int		 http_port;	/* 0: off; Host-routed HTTP */
	int		 https_port;	/* 0: off; SNI-routed HTTPS */
	int		 http_redirect;	/* with https_port: HTTP requests for a
					   known name get a 308 to https */
	struct cfg_cert	*https_certs;	/* chosen by SNI, in file order */
	size_t		 nhttps_certs;
	int		 acme_on;	/* an acme: mapping was given */
	struct cfg_acme	 acme;		/* for names https_certs lacks */
	struct cfg_user	*users;
	size_t		 nusers;	/* >= 1 */
	int		 log_enable;
	char		*log_path;	/* directory; info.log goes inside */
	char		*log_level;	/* "error" "warn" "info" "debug" */
};

struct cfg_client {
	char		*path;
	char		*server_addr;	/* "host:port", "[v6]:port" */
	char		*local_host;	/* default "127.0.0.1" */
	int		 local_port;	/* 1..65535, default 8000; 0: none (the
					   raw port serves nothing), the
					   default when services are set */
	int		 connect_timeout; /* 1..3600 seconds, default 30 */
	int		 shutdown_grace; /* 0..3600 seconds, default 10 */
	char		*username;
	char		*password;	/* plaintext: the client must know it */
	char		*log_level;
	int		 transport;	/* CFG_TRANSPORT_*, default TLS */
	char		*server_fingerprint; /* pinned key, CFG_FP_CA, or NULL */
	char		*login_setting;	/* the first login's crypt setting */
	int		 proxy_protocol; /* PROXYPROTO_*, default off */
	struct cfg_service *services;	/* by host name, in file order */
	size_t		 nservices;	/* 0..CFG_MAX_HOSTS */
	int		 local_port_set; /* local_port was in the file */
};

/*
 * Sets every field to its default. The default strings (log_path,
 * log_level, local_host) are heap copies, so every string field is owned
 * by the struct and may be freed and replaced by the caller; out of memory
 * here aborts (it cannot fail silently). Free with cfg_*_free.
 */
void	cfg_server_init(struct cfg_server *c);
void	cfg_client_init(struct cfg_client *c);

/*
 * Loads path into c (which must come from cfg_*_init). On failure c keeps
 * only defaults and err holds "path:line:col: message" (or "path: message"
 * for I/O errors). Return: 0, or -1 with errno ENOENT when the file does not
 * exist (so a caller can offer to create it), another errno otherwise:
 * EISDIR, EFBIG (over CFG_MAX_FILE_SIZE), EINVAL (not a regular file, or
 * bad content), ENOMEM. Crypt hashes are test-hashed here (tens of ms each).
 */
int	cfg_server_load(const char *path, struct cfg_server *c, char *err,
	    size_t errlen);
int	cfg_client_load(const char *path, struct cfg_client *c, char *err,
	    size_t errlen);

/* The same from memory; name stands for the file in messages. */
int	cfg_server_load_mem(const char *name, const char *buf, size_t len,
	    struct cfg_server *c, char *err, size_t errlen);
int	cfg_client_load_mem(const char *name, const char *buf, size_t len,
	    struct cfg_client *c, char *err, size_t errlen);

/*
 * Writes a first server config at path with the defaults and one user
 * "admin" whose password is password_hash, mode 0600, refusing to replace
 * an existing file (O_EXCL). Return: 0 or -1 with a reason in err.
 */
int	cfg_server_write_default(const char *path, const char *password_hash,
	    char *err, size_t errlen);

/*
 * Saves c at path atomically (temporary file in the same directory, fsync,
 * rename), mode 0600, strings quoted so any value round-trips. The text
 * is loaded back before it is written, so a value that would not load
 * (empty password, bad server_addr, invalid UTF-8) is refused.
 * Return: 0 or -1 with a reason in err.
 */
int	cfg_client_save(const char *path, const struct cfg_client *c,
	    char *err, size_t errlen);

/*
 * Adds "key: value" (value quoted) at the end of the client config at
 * path, after a comment line, keeping every byte already there: the
 * file is the user's, comments included. The result is loaded before it
 * replaces the file (atomically, same mode), so a key already there or a
 * bad value is refused. Return: 0 or -1 with a reason in err.
 */
int	cfg_client_append(const char *path, const char *comment,
	    const char *key, const char *value, char *err, size_t errlen);

/* "tls" or "plain" for a CFG_TRANSPORT_* value. */
const char *cfg_transport_str(int transport);

/*
 * Splits "host:port" / "[v6]:port" into host (brackets removed) and port.
 * Return: 0, or -1 if malformed or the port is not 1..65535.
 */
int	cfg_split_hostport(const char *s, char *host, size_t hostlen,
	    int *port);

/* "v1", "v2" or "off" into PROXYPROTO_*. Return: 0, or -1 for others. */
int	cfg_proxy_protocol_parse(const char *s, int *out);

/*
 * Host names as users and clients write them: a bare label (no dot) that
 * goes under the server's domain, a full name, or a name with a final dot,
 * which is full as it is (a single-label name such as "intranet.").
 * cfg_host_written: s[0..len) checked and lowercased into out (255 bytes),
 * its final dot kept. cfg_host_name: host as a full name into out (255
 * bytes), no final dot. Return: 0, or -1 for no host name, a label with
 * no domain, or a name too long.
 */
int	cfg_host_written(const char *s, size_t len, char *out);
int	cfg_host_name(const char *host, const char *domain, char *out);
void	cfg_hosts_free(char **hosts, size_t n);
void	cfg_server_free(struct cfg_server *c);
void	cfg_client_free(struct cfg_client *c);

#endif
