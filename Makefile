# tcpclose: eBPF tracer for the TCP close lifecycle.
#   make            build ./tcpclose (installs missing Debian packages first)
#   sudo make run   live view of this host (tcpclose top) until Ctrl-C
#   sudo make test  unit tests, then integration tests against real traffic
#   make V=1        show the commands
OUT      := build
ARCH     := x86
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Build and test dependencies, all from Debian. `make deps` installs what is
# missing; every build target depends on its stamp so a fresh machine needs
# no manual step.
BUILD_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libjson-c-dev \
	      libmicrohttpd-dev libcap-ng-dev libseccomp-dev libcmocka-dev pkg-config
TEST_PKGS  := iproute2 jq nginx-light php-fpm haproxy postgresql wrk qemu-system-x86 busybox-static prometheus curl patchelf
BENCH_PKGS := bpftrace libbpf-tools
# clang's sanitizer and libFuzzer runtimes (-fsanitize=fuzzer,address,undefined):
# only Recommended by clang, so not there after a --no-install-recommends install.
FUZZ_PKGS  := libclang-rt-14-dev
# make static: the static archives behind libmicrohttpd.a (gnutls and what it
# needs; the rest come with BUILD_PKGS' -dev packages). make deb: the checks.
STATIC_PKGS := libgnutls28-dev nettle-dev libgmp-dev libidn2-dev libunistring-dev \
	       libtasn1-6-dev libp11-kit-dev
DEB_PKGS   := dpkg-dev fakeroot lintian systemd
DEPS_STAMP := $(OUT)/.deps-build
TDEPS_STAMP := $(OUT)/.deps-test
BDEPS_STAMP := $(OUT)/.deps-bench
FDEPS_STAMP := $(OUT)/.deps-fuzz
SDEPS_STAMP := $(OUT)/.deps-static
PDEPS_STAMP := $(OUT)/.deps-deb

# maps.bpf.c first: it defines the maps the others declare extern, and
# bpftool's linker (7.1) resolves an extern map only after its definition.
BPF_SRCS  := bpf/maps.bpf.c $(filter-out bpf/maps.bpf.c,$(wildcard bpf/*.bpf.c))
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKEL      := $(OUT)/tcpclose.skel.h

# user/ in four folders, by what the code may touch (docs/architecture.md):
# cmd/ the commands, kernel/ the libbpf side (waits for the skeleton),
# model/ and render/ pure code (no libbpf calls) that the unit tests, the
# sanitizer builds and the fuzzer link as well. args.c is the one pure file in
# cmd/: test_args links the parser without any command.
USER_DIRS := user/cmd user/kernel user/model user/render
PURE_SRCS := $(wildcard user/model/*.c user/render/*.c) user/cmd/args.c
BPF_USER_SRCS := $(wildcard user/kernel/*.c) $(filter-out user/cmd/main.c user/cmd/args.c,$(wildcard user/cmd/*.c))
MAIN_SRC  := user/cmd/main.c
PURE_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(PURE_SRCS))
BPF_USER_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(BPF_USER_SRCS))
MAIN_OBJ  := $(OUT)/user/cmd/main.o

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
SCEN_SRCS := $(filter-out %.bpf.c,$(wildcard tests/scenario/*.c))
SCEN_BINS := $(patsubst tests/scenario/%.c,$(OUT)/scenario/%,$(SCEN_SRCS))

CFLAGS   ?= -O2 -g
CFLAGS   += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -MMD -MP \
	    -Ibpf $(addprefix -I,$(USER_DIRS)) -I$(OUT) -D_GNU_SOURCE
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wno-unused-function \
	    -Ivmlinux/$(ARCH) -Ibpf -MMD -MP
LIBS     = $(shell $(PKG_CONFIG) --libs libbpf json-c zlib 2>/dev/null || echo -lbpf -lelf -lz -ljson-c)
# Only the tracer serves HTTP and drops capabilities; the unit tests need neither.
TRACER_LIBS = $(shell $(PKG_CONFIG) --libs libmicrohttpd libcap-ng libseccomp 2>/dev/null || \
	      echo -lmicrohttpd -lcap-ng -lseccomp) -lpthread
JSONC_CFLAGS = $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)

# A failed step must not leave a half-written target that looks up to date.
.DELETE_ON_ERROR:

.PHONY: all deps test-deps run install test unit integration vmtest vmbench bench scale soak clean vmlinux \
	unit-asan fuzz fuzz-run static deb
all: tcpclose

deps: $(DEPS_STAMP)
test-deps: $(TDEPS_STAMP)

# Re-run when the package list changes.
$(DEPS_STAMP): Makefile
	$(Q)tools/install-deps $(BUILD_PKGS)
	$(Q)mkdir -p $(@D) && touch $@
$(TDEPS_STAMP): Makefile
	$(Q)tools/install-deps $(TEST_PKGS)
	$(Q)mkdir -p $(@D) && touch $@
$(BDEPS_STAMP): Makefile
	$(Q)tools/install-deps $(BENCH_PKGS)
	$(Q)mkdir -p $(@D) && touch $@
$(FDEPS_STAMP): Makefile | $(DEPS_STAMP)
	$(Q)tools/install-deps $(FUZZ_PKGS)
	$(Q)mkdir -p $(@D) && touch $@
$(SDEPS_STAMP): Makefile | $(DEPS_STAMP)
	$(Q)tools/install-deps $(STATIC_PKGS)
	$(Q)mkdir -p $(@D) && touch $@
$(PDEPS_STAMP): Makefile
	$(Q)tools/install-deps $(DEB_PKGS)
	$(Q)mkdir -p $(@D) && touch $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/tcpclose.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(OUT)/tcpclose.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tcpclose_bpf > $@.tmp && mv $@.tmp $@

# Only the code that includes the skeleton waits for it.
$(BPF_USER_OBJS) $(MAIN_OBJ): $(SKEL)

$(OUT)/user/%.o: user/%.c | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(JSONC_CFLAGS) -c $< -o $@

tcpclose: $(MAIN_OBJ) $(BPF_USER_OBJS) $(PURE_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) $(TRACER_LIBS) -o $@

# make static: one self-contained binary, every library from Debian's static
# archives, glibc's too (docs/deploy.md). Debian has no libp11-kit.a: gnutls
# (pulled in by libmicrohttpd.a, never used: plain HTTP) gets user/static/nop11kit.c.
STATIC_BIN := $(OUT)/static/tcpclose
STATIC_LIBS = $(filter-out -lp11-kit,$(shell $(PKG_CONFIG) --static --libs libbpf json-c \
	      libmicrohttpd libcap-ng libseccomp)) -lpthread
$(OUT)/static/nop11kit.o: user/static/nop11kit.c | $(SDEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags p11-kit-1) -c $< -o $@
# ld's warnings that getpwnam & co. in a static binary load NSS modules:
# glibc 2.34+ has the files module built in (docs/deploy.md).
$(STATIC_BIN): $(MAIN_OBJ) $(BPF_USER_OBJS) $(PURE_OBJS) $(OUT)/static/nop11kit.o | $(SDEPS_STAMP)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -static $^ -Wl,--start-group $(STATIC_LIBS) -Wl,--end-group -o $@.tmp \
		2>$@.log || { cat $@.log; exit 1; }
	$(Q)grep -v -e 'statically linked applications requires at runtime' -e ': in function' $@.log || true
	$(Q)strip -s -R .comment $@.tmp && mv $@.tmp $@
	$(Q)printf '  %-8s %s (%s bytes)\n' STATIC $@ "$$(stat -c %s $@)"
static: $(STATIC_BIN)

# make deb: build/deb/tcpclose_VERSION_amd64.deb from a staged tree
# (tools/deb/mkdeb: the static binary, man page, exporter unit, dashboard, rules).
deb: $(STATIC_BIN) | $(PDEPS_STAMP)
	$(call msg,DEB,$(OUT)/deb)
	$(Q)tools/deb/mkdeb $(STATIC_BIN) $(OUT)/deb

$(OUT)/tests/%: tests/unit/%.c $(PURE_OBJS) | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(JSONC_CFLAGS) $(filter %.c %.o,$^) $(LIBS) -lcmocka -o $@

$(OUT)/scenario/%: tests/scenario/%.c | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< -lpthread -o $@

# timeouter's packet drop (tests/scenario/blackhole.bpf.c), kept out of
# $(OUT)/scenario, which holds only what the VM image runs.
$(OUT)/scenario-bpf/blackhole.bpf.o: tests/scenario/blackhole.bpf.c | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/scenario-bpf/blackhole.skel.h: $(OUT)/scenario-bpf/blackhole.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name blackhole_bpf > $@.tmp && mv $@.tmp $@

$(OUT)/scenario/timeouter: tests/scenario/timeouter.c $(OUT)/scenario-bpf/blackhole.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -I$(OUT)/scenario-bpf $< $(LIBS) -lpthread -o $@

$(OUT)/bench/%: tools/bench/%.c | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< -lpthread -o $@

# The benchmark's floor: a bare counter program on the state hook (tools/bench/floor.bpf.c).
$(OUT)/bench/floor.bpf.o: tools/bench/floor.bpf.c | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bench/floor.skel.h: $(OUT)/bench/floor.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@.tmp && mv $@.tmp $@

$(OUT)/bench/floor: tools/bench/floor.c $(OUT)/bench/floor.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUT)/bench $< $(LIBS) -o $@

run: tcpclose
	./tcpclose top

PREFIX ?= /usr/local
install: tcpclose
	install -D -m 0755 tcpclose $(DESTDIR)$(PREFIX)/sbin/tcpclose
	install -D -m 0644 user/tcpclose.8 $(DESTDIR)$(PREFIX)/share/man/man8/tcpclose.8

unit: $(UNIT_BINS)
	$(Q)tests/run-unit $(UNIT_BINS)

integration: tcpclose deb $(SCEN_BINS) $(OUT)/bench/hold $(TDEPS_STAMP)
	$(Q)tests/integration/run

# The kernel matrix: Debian's kernel under qemu, every attach mode.
vmtest: tcpclose $(STATIC_BIN) $(SCEN_BINS) $(OUT)/bench/hold $(TDEPS_STAMP)
	$(Q)tools/vm/run $(OUT)/vm

# Sanitizers: the pure code and the unit tests again, built by clang with
# ASan and UBSan into $(ASAN_OUT) (any report fails the test: no recovery).
ASAN_OUT   := $(OUT)/asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_CFLAGS = -O1 -g $(ASAN_FLAGS) -Wall -Wextra -Wno-unused-parameter -std=gnu11 -MMD -MP \
	      -Ibpf $(addprefix -I,$(USER_DIRS)) -I$(OUT) -D_GNU_SOURCE $(JSONC_CFLAGS)
ASAN_PURE_OBJS := $(patsubst user/%.c,$(ASAN_OUT)/user/%.o,$(PURE_SRCS))
ASAN_UNIT_BINS := $(patsubst tests/unit/%.c,$(ASAN_OUT)/tests/%,$(UNIT_SRCS))
ASAN_ENV   := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

$(ASAN_OUT)/user/%.o: user/%.c | $(DEPS_STAMP) $(FDEPS_STAMP)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(ASAN_CFLAGS) -c $< -o $@

$(ASAN_OUT)/tests/%: tests/unit/%.c $(ASAN_PURE_OBJS) | $(DEPS_STAMP) $(FDEPS_STAMP)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(ASAN_CFLAGS) $(filter %.c %.o,$^) $(LIBS) -lcmocka -o $@

# Kept between runs (made by a pattern rule only, make would delete them).
.SECONDARY: $(ASAN_PURE_OBJS)

unit-asan: $(ASAN_UNIT_BINS)
	$(Q)$(ASAN_ENV) UNIT_NAME=unit-asan tests/run-unit $(ASAN_UNIT_BINS)

# libFuzzer over the recording reader and every renderer (tests/fuzz/README.md).
# `make fuzz` builds it; `make fuzz-run` runs it FUZZ_SECONDS on a scratch
# copy of the seed corpus, with the regression files replayed first.
FUZZ_OUT     := $(OUT)/fuzz
FUZZ_BIN     := $(FUZZ_OUT)/fuzz_recording
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=all
FUZZ_CFLAGS   = -O1 -g $(FUZZ_FLAGS) -Wall -Wextra -Wno-unused-parameter -std=gnu11 -MMD -MP \
		-Ibpf $(addprefix -I,$(USER_DIRS)) -I$(OUT) -D_GNU_SOURCE $(JSONC_CFLAGS)
# -fsanitize=fuzzer with -c: the coverage instrumentation; libFuzzer's main()
# comes in at the link.
FUZZ_PURE_OBJS := $(patsubst user/%.c,$(FUZZ_OUT)/user/%.o,$(PURE_SRCS))
FUZZ_LIBS     = $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)

$(FUZZ_OUT)/user/%.o: user/%.c | $(DEPS_STAMP) $(FDEPS_STAMP)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BIN): tests/fuzz/fuzz_recording.c $(FUZZ_PURE_OBJS) | $(DEPS_STAMP) $(FDEPS_STAMP)
	$(call msg,LD-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(filter %.c %.o,$^) $(FUZZ_LIBS) -o $@

fuzz: $(FUZZ_BIN)

fuzz-run: $(FUZZ_BIN)
	$(Q)tests/fuzz/run $(FUZZ_BIN) $(FUZZ_SECONDS) $(FUZZ_OUT)/run

# Cheap ones first: the sanitizer builds and a 60 s fuzz run add about 1.5 minutes.
# One stage after the other, each a make of its own; tests/run-stages prints a
# line per stage and the total "N passed, N failed", and fails if a stage fails.
test:
	$(Q)MAKE='$(MAKE)' tests/run-stages unit unit-asan fuzz-run integration vmtest

# Overhead, measured side by side (tracer off vs on); not part of test.
bench: tcpclose $(OUT)/bench/churn $(OUT)/bench/floor $(OUT)/bench/sysloop $(SCEN_BINS) $(TDEPS_STAMP) \
	       $(BDEPS_STAMP)
	$(Q)tools/bench/run
	$(Q)tools/bench/cost
	$(Q)$(MAKE) --no-print-directory vmbench

# The cost table inside Debian's kernel under qemu (fentry and kprobes, which
# our host lacks): TCG times mean nothing alone, the ratio to the floor
# program run in the same VM does. Also the last step of `make bench`.
VMBENCH_MODES ?= floor,report-fentry,report-kprobe,report-tracepoint,report-light
vmbench: tcpclose $(STATIC_BIN) $(SCEN_BINS) $(OUT)/bench/hold $(OUT)/bench/churn $(OUT)/bench/floor \
	 $(OUT)/bench/sysloop $(TDEPS_STAMP)
	$(Q)VM_STATIC=0 VM_KERNELS=linux-image-amd64:auto VM_RUN=tools/bench/cost,3,3,$(VMBENCH_MODES) \
		tools/vm/run $(OUT)/vmbench

# Scale: a million live sockets, 100k peers; memory and evictions (minutes, GiBs).
scale: tcpclose $(OUT)/bench/hold $(OUT)/bench/churn $(TDEPS_STAMP)
	$(Q)tools/bench/scale
	$(Q)tools/bench/soak $(SOAK_MINUTES)

# The exporter scraped every second under churn for SOAK_MINUTES (30): RSS
# flat, no fd leak, counters exact against nstat at the end (also the last
# step of `make scale`).
SOAK_MINUTES ?= 30
soak: tcpclose $(OUT)/bench/churn $(TDEPS_STAMP)
	$(Q)tools/bench/soak $(SOAK_MINUTES)

vmlinux:
	tools/gen-vmlinux vmlinux/$(ARCH)/vmlinux.h

clean:
	rm -rf $(OUT) tcpclose

-include $(wildcard $(OUT)/bpf/*.d $(OUT)/user/*/*.d $(OUT)/tests/*.d $(OUT)/scenario/*.d $(OUT)/scenario-bpf/*.d $(OUT)/bench/*.d \
	$(ASAN_OUT)/user/*/*.d $(ASAN_OUT)/tests/*.d $(FUZZ_OUT)/user/*/*.d $(FUZZ_OUT)/*.d)
