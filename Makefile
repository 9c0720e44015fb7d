# wirestream - one plain Makefile.
#
#   make            build ./wirestream
#   make demo       install what is missing, build, run the embedded demo
#   make check      install what is missing, build, run every test, then the
#                   same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test       run the suite with the current build (no installs)
#   make test-san   the suite under ASan+UBSan (build in build-san/)
#   make valgrind   the unit tests under valgrind
#   make fuzz       run each fuzz target for FUZZ_SECONDS (clang, libFuzzer)
#   make lint       cppcheck + clang-tidy
#   make format     clang-format the tree
#   make bench      benchmarks (never part of the tests)

PKGS      := rdkafka jansson libevent
FUZZ_SMOKE_SECONDS ?= 10
SAN       ?= 0
WERROR    ?= 0

ifeq ($(SAN),1)
BUILD     ?= build-san
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT       ?= -O1
else
BUILD     ?= build
SANFLAGS  :=
OPT       ?= -O2
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -levent_extra -levent_pthreads

WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN      += -Werror
endif

VERSION   := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS    ?= $(OPT) -g
CFLAGS    += -std=gnu11 $(WARN) $(SANFLAGS) -I. $(PKG_CFLAGS) -DWS_VERSION='"$(VERSION)"' -MMD -MP
LDFLAGS   += $(SANFLAGS)
LDLIBS    += $(PKG_LIBS) -lpthread -lm

LIB_SRC   := $(filter-out core/main.c,$(wildcard core/*.c consumer/*.c producer/*.c processors/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Shared unit-test helpers (tests/unit/*.c that are not tests), linked into each test.
TEST_HELPERS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(TEST_SRC),$(wildcard tests/unit/*.c)))
.SECONDARY: $(TEST_HELPERS)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

BIN       := wirestream

.PHONY: soak readme all demo check test test-san unit valgrind fuzz lint format bench deps deps-test clean

all: $(BIN)

ifeq ($(SAN),1)
$(BIN): $(BUILD)/$(BIN)
else
$(BIN): $(BUILD)/$(BIN)
	@rm -f $@ && cp $< $@
endif

$(BUILD)/$(BIN): $(BUILD)/core/main.o $(BUILD)/libwirestream.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libwirestream.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(TEST_HELPERS) $(BUILD)/libwirestream.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_HELPERS) $(BUILD)/libwirestream.a $(LDLIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(BUILD)/libwirestream.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libwirestream.a $(LDLIBS)

unit-bins: $(TEST_BIN)

deps:
	@scripts/install-deps.sh

deps-test:
	@scripts/install-deps.sh --test

demo: deps
	@$(MAKE) --no-print-directory all
	./$(BIN) demo

# The README's test command (and .ci/run): installs, builds, runs everything.
check: deps-test
	@$(MAKE) --no-print-directory WERROR=1 all unit-bins
	@$(MAKE) --no-print-directory SAN=1 WERROR=1 unit-bins build-san/$(BIN)
	tests/run.sh --build build --san-build build-san --kafka --fuzz $(FUZZ_SMOKE_SECONDS)

test: all unit-bins
	tests/run.sh --build $(BUILD)

test-san:
	@$(MAKE) --no-print-directory SAN=1 unit-bins build-san/$(BIN)
	tests/run.sh --build build-san

valgrind: unit-bins
	tests/run.sh --build $(BUILD) --valgrind --unit-only

# Bounded soak runs (1M articles offline, 200k through a real broker), RSS sampled.
soak: all
	bench/soak.sh all

bench: all
	@$(MAKE) --no-print-directory $(BENCH_BIN)
	bench/run.sh

# Regenerates the README's configuration reference from the binary's tables.
readme: all
	scripts/update-readme.sh

clean:
	rm -rf build build-san build-fuzz $(BIN)

-include $(LIB_OBJ:.o=.d) $(BUILD)/core/main.d $(TEST_HELPERS:.o=.d)

# ---------------------------------------------------------------- hardening
# fuzz, lint and format (docs/hardening.md). The fuzz build is its own tree,
# build-fuzz/: the library compiled by clang with coverage instrumentation
# (-fsanitize=fuzzer-no-link) and ASan+UBSan, one libFuzzer binary per
# fuzz/fuzz_*.c. `make fuzz FUZZ_SECONDS=10 FUZZ_TARGETS="decode conf"`.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_NAMES   := decode clean entities gazetteer taxonomy conf state
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_BIN     := $(FUZZ_NAMES:%=build-fuzz/fuzz/fuzz_%)
FUZZ_SHARED  := fuzz/fuzz_targets.c fuzz/fuzz_targets.h fuzz/fuzz_main.h

.PHONY: fuzz-build format-check

fuzz:
	scripts/fuzz-smoke.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Builds the library (a sub-make with BUILD=build-fuzz, CC=clang) and the
# fuzzers; scripts/fuzz-smoke.sh calls it.
fuzz-build:
	@CFLAGS="-O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	    $(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=build-fuzz $(FUZZ_BIN)

build-fuzz/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_SHARED) build-fuzz/libwirestream.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 $(WARN) -I. $(PKG_CFLAGS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer \
	    -o $@ $< fuzz/fuzz_targets.c build-fuzz/libwirestream.a $(LDLIBS)

# Static analysis with the checks listed in .clang-tidy and docs/hardening.md.
lint:
	scripts/lint.sh

FORMAT_SRC := $(wildcard core/*.[ch] consumer/*.[ch] producer/*.[ch] processors/*.[ch] \
                         tests/unit/*.c fuzz/*.[ch] bench/*.c)

# Rewrites the sources in place with .clang-format; `make format-check`
# only reports (exit 1 when something would change).
format:
	clang-format -i --style=file $(FORMAT_SRC)

format-check:
	clang-format --dry-run --Werror --style=file $(FORMAT_SRC)
