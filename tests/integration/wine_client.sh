#!/bin/sh
# tunnel-client for the integration tests, as the Windows build run under
# Wine (tests/run.sh sets CLIENT_BIN to this script): WIN_CLIENT names the
# .exe, WINEPREFIX the Wine prefix the run prepared. The Windows client
# keeps known_servers under %APPDATA%\tunnel, which Wine sets from its
# prefix whatever the environment says; that directory is made a link to
# the test's own $XDG_CONFIG_HOME/tunnel, so the tests find the file where
# they look for it on Unix. Tests run one at a time: one link suffices.
: "${WIN_CLIENT:?}" "${WINEPREFIX:?}"
WINEDEBUG=-all
WINEDLLOVERRIDES="mscoree,mshtml="
export WINEDEBUG WINEDLLOVERRIDES
roaming="$WINEPREFIX/drive_c/users/$(id -un)/AppData/Roaming"
if [ -n "${XDG_CONFIG_HOME:-}" ]; then
	# A directory the client made there itself would take the link in.
	[ -L "$roaming/tunnel" ] || rm -rf "$roaming/tunnel"
	mkdir -p "$XDG_CONFIG_HOME/tunnel" "$roaming" &&
	    ln -sfn "$XDG_CONFIG_HOME/tunnel" "$roaming/tunnel" || exit 99
fi
exec "${WINE:-/usr/lib/wine/wine64}" "$WIN_CLIENT" "$@"
