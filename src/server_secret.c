/*
 * server_secret: the secret behind unknown users' fake salts.
 *
 * A CHALLENGE for a user who does not exist carries a setting made from
 * this secret and the name (auth_fake_setting), so it looks like a real
 * user's. A real user's salt never changes; if the secret were drawn
 * afresh at every start, a name whose salt changed across a restart
 * would be known not to exist. So it lives in SRV_SECRET_FILE next to the
 * configuration: 32 random bytes, mode 0600, made on the first start.
 *
 * The file is never seen half-written: the bytes go to a temporary file
 * (mkostemp: O_EXCL, 0600) that is synced and then linked to the final
 * name, which fails rather than replace a file another process made in
 * the meantime. A file of any other size was not written by us (or was
 * damaged): the server refuses to start rather than guess.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "server.h"
#include "sys.h"

#define SECRET_PATH_MAX	4096

static void	secret_err(char *, size_t, const char *, ...)
		    __attribute__((format(TUNNEL_PRINTF, 3, 4)));

static void
secret_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The directory part of path ("." when it has none) into dir. */
static int
dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (slash == NULL)
		n = snprintf(dir, len, ".");
	else if (slash == path)
		n = snprintf(dir, len, "/");
	else
		n = snprintf(dir, len, "%.*s", (int)(slash - path), path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
srv_give_to_dir_owner(const char *path)
{
	char dir[SECRET_PATH_MAX];
	struct stat st;

	if (geteuid() != 0 || dir_of(path, dir, sizeof(dir)) == -1 ||
	    stat(dir, &st) == -1 || st.st_uid == 0)
		return 0;
	/*
	 * Never through a symbolic link: that user could have put one there
	 * to have root give it /etc.
	 */
	return fchownat(AT_FDCWD, path, st.st_uid, st.st_gid,
	    AT_SYMLINK_NOFOLLOW);
}

int
srv_state_dir(const char *config_path, const char *name, char *dir,
    size_t len)
{
	static const char etc[] = "/" SRV_PACKAGED_CONFIG_DIR;
	const char *state = getenv("STATE_DIRECTORY");
	char beside[SECRET_PATH_MAX], packaged[SECRET_PATH_MAX];
	struct stat st;
	size_t n, dl;
	int r;

	if (dir_of(config_path, dir, len) == -1)
		return -1;
	/*
	 * The shipped unit's layout, whoever starts the server: a config in
	 * <root>/etc/tunnel keeps what the server makes in
	 * <root>/var/lib/tunnel, so `tunnel-server --fingerprint` run by
	 * hand finds (or makes) the key the service uses.
	 */
	dl = strlen(dir);
	if ((state == NULL || state[0] != '/') && dl >= sizeof(etc) - 1 &&
	    strcmp(dir + dl - (sizeof(etc) - 1), etc) == 0) {
		r = snprintf(packaged, sizeof(packaged), "%.*s/%s",
		    (int)(dl - (sizeof(etc) - 1)), dir,
		    SRV_PACKAGED_STATE_DIR);
		if (r < 0 || (size_t)r >= sizeof(packaged))
			return -1;
		state = packaged;
	}
	if (state == NULL || state[0] != '/')
		return 0;
	r = snprintf(beside, sizeof(beside), "%s/%s", dir, name);
	if (r < 0 || (size_t)r >= sizeof(beside))
		return -1;
	/* A file already beside the config keeps being used there. */
	if (lstat(beside, &st) == 0 || errno != ENOENT)
		return 0;
	/* systemd lists several directories with ':': the first is ours. */
	n = strcspn(state, ":");
	if (n >= len)
		return -1;
	memcpy(dir, state, n);
	dir[n] = '\0';
	return 0;
}

/*
 * Makes path with fresh random bytes, unless it exists by the time the
 * link is made. Return: 0 (made, or someone else made it), or -1 with a
 * reason in err.
 */
static int
secret_create(const char *dir, const char *path, char *err, size_t errlen)
{
	char tmp[SECRET_PATH_MAX];
	uint8_t rnd[PROTO_KEY_LEN];
	int fd, e, r = -1;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir,
	    SRV_SECRET_FILE) >= (int)sizeof(tmp)) {
		secret_err(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		secret_err(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (sys_random(rnd, sizeof(rnd)) == -1 ||
	    fd_write_all(fd, rnd, sizeof(rnd)) == -1 || fsync(fd) == -1) {
		e = errno;
		(void)close(fd);
		secret_err(err, errlen, "cannot write %s: %s", tmp,
		    strerror(e));
		goto out;
	}
	if (close(fd) == -1) {
		secret_err(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (link(tmp, path) == -1 && errno != EEXIST) {
		secret_err(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);	/* the new name, on disk */
		(void)close(fd);
	}
	r = 0;
out:
	(void)unlink(tmp);
	auth_wipe(rnd, sizeof(rnd));
	return r;
}

int
srv_secret_load(const char *config_path, uint8_t secret[PROTO_KEY_LEN],
    char *err, size_t errlen)
{
	char dir[SECRET_PATH_MAX], path[SECRET_PATH_MAX], what[128];
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, created = 0;

	if (srv_state_dir(config_path, SRV_SECRET_FILE, dir,
	    sizeof(dir)) == -1 ||
	    snprintf(path, sizeof(path), "%s/%s", dir, SRV_SECRET_FILE) >=
	    (int)sizeof(path)) {
		secret_err(err, errlen, "%s: path too long", config_path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1 && errno == ENOENT) {
		if (secret_create(dir, path, err, errlen) == -1)
			return -1;
		if (srv_give_to_dir_owner(path) == -1) {
			secret_err(err, errlen, "cannot give %s to the owner of "
			    "its directory: %s", path, strerror(errno));
			return -1;
		}
		created = 1;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	}
	if (fd == -1) {
		secret_err(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	what[0] = '\0';
	if (fstat(fd, &st) == -1)
		(void)snprintf(what, sizeof(what), "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		(void)snprintf(what, sizeof(what), "not a regular file");
	else if (st.st_size != PROTO_KEY_LEN)
		(void)snprintf(what, sizeof(what), "%lld bytes",
		    (long long)st.st_size);
	if (what[0] != '\0') {
		secret_err(err, errlen, "%s: %s, not the %d random bytes this "
		    "server writes; move it away and a new one is made (the "
		    "salts shown for unknown user names then change once)",
		    path, what, PROTO_KEY_LEN);
		(void)close(fd);
		return -1;
	}
	while (got < PROTO_KEY_LEN) {
		n = read(fd, secret + got, PROTO_KEY_LEN - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			secret_err(err, errlen, "cannot read %s: %s", path,
			    n == 0 ? "file shrank" : strerror(errno));
			(void)close(fd);
			auth_wipe(secret, PROTO_KEY_LEN);
			return -1;
		}
		got += (size_t)n;
	}
	(void)close(fd);
	if (created)
		log_info("wrote %s (mode 0600): the secret that keeps unknown "
		    "users' salts the same across restarts", path);
	return 0;
}
