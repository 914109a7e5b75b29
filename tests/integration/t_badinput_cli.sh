#!/usr/bin/env bash
# Bad command lines (issue 4, "Bad input"): unknown flags, missing or empty
# values, extra positional arguments, for both binaries: exactly one line
# on stderr, nothing on stdout, exit 2, at once (stdin is /dev/null, so a
# binary that goes on to read a password or run fails the test too), and no
# file created.
. "$(dirname "$0")/lib.sh"
mkdir "$T/cwd"
PORT=$(free_port)
printf 'port: %s\nusers:\n  - username: admin\n    password: "%s"\nlog:\n  enable: false\n' \
    "$PORT" "$PASSWORD" >"$T/cwd/s.yaml"
printf 'server_addr: 127.0.0.1:%s\nusername: admin\npassword: "%s"\n' \
    "$PORT" "$PASSWORD" >"$T/cwd/c.yaml"
# A loadable default client file: a bad command line wrongly taken as
# "no flags" would run (and time out) instead of stopping for want of a
# file, which would hide it.
cp "$T/cwd/c.yaml" "$T/cwd/tunnel-client-config.yaml"
chmod 600 "$T/cwd/c.yaml" "$T/cwd/tunnel-client-config.yaml"
bad=""
check() {	# BIN ARGS...
	set +e
	(cd "$T/cwd" && exec timeout 5 "$@" </dev/null >"$T/out" 2>"$T/err")
	rc=$?
	set -e
	shift
	what="$(basename "$CUR") $*"
	lines=$(wc -l <"$T/err")
	if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] || [ -s "$T/out" ]; then
		echo "FAIL: '$what': exit $rc, $lines stderr line(s): $(head -c 300 "$T/err")$( [ -s "$T/out" ] && echo " stdout: $(head -c 100 "$T/out")")" >&2
		bad="$bad
  $what"
	else
		printf '# %-55s exit 2: %s\n' "$what" "$(cat "$T/err")"
	fi
	# Nothing may be created in the working directory.
	for f in "$T"/cwd/*; do
		case "$(basename "$f")" in s.yaml|c.yaml|tunnel-client-config.yaml) ;; *)
			echo "FAIL: '$what' created $(basename "$f")" >&2
			bad="$bad
  $what (created $(basename "$f"))"
			rm -rf "$f" ;;
		esac
	done
	return 0
}

CUR=$SERVER_BIN
for args in "--bogus" "-x" "-cs.yaml" "--config" "-c" "-config" "--debug=1" "--check=yes" \
    "-nd" "-" "--" "extra" "-n extra" "extra -n" "-c s.yaml extra" "-c s.yaml -n extra" \
    "-n -c s.yaml extra" "-c s.yaml -c" "-d -n --bogus"; do
	# shellcheck disable=SC2086
	check "$SERVER_BIN" $args
done
# Empty values: as good as missing.
check "$SERVER_BIN" --config= -n
check "$SERVER_BIN" --config=
check "$SERVER_BIN" -c "" -n
check "$SERVER_BIN" -c ""
# --hash-password takes no arguments, not even valid flags (stdin is
# /dev/null: one that reads a password instead fails with exit 1).
check "$SERVER_BIN" --hash-password extra
check "$SERVER_BIN" --hash-password --bogus
check "$SERVER_BIN" --hash-password -n
check "$SERVER_BIN" -c s.yaml --hash-password

CUR=$CLIENT_BIN
for args in "--bogus" "-x" "-cc.yaml" "--debug=1" "-" "--" "extra" "-c c.yaml extra" \
    "extra -c c.yaml" "-c" "--config" "-config" "-s" "-u" "-p" "-l" "--password-file" \
    "-s 127.0.0.1:$PORT -u admin extra" "-s 127.0.0.1:$PORT" "-u admin" \
    "-s 127.0.0.1:$PORT -u admin" "-s 127.0.0.1:$PORT -u admin -p" \
    "-s 127.0.0.1:$PORT -u admin -l" "-p 0" "-p 65536" "-p abc" "-p 80x" \
    "-s nohost -u admin" "-s 127.0.0.1:0 -u admin" "-s [::1:80 -u admin" \
    "-d --no-splice extra"; do
	# shellcheck disable=SC2086
	check "$CLIENT_BIN" $args
done
check "$CLIENT_BIN" -p ""
check "$CLIENT_BIN" -s "" -u admin
check "$CLIENT_BIN" -s "127.0.0.1:$PORT" -u ""
check "$CLIENT_BIN" -s "127.0.0.1:$PORT" -u "a b"
[ -z "$bad" ] || fail "command lines not refused with one line and exit 2:$bad"
log "bad command lines: one stderr line, exit 2: ok"
