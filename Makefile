# Ringside — make run (TUI on the built-in demo), make test, make bench, make nanobench.
SHELL := /bin/bash
SWIFT ?= swift
BIN = .build/debug/ringside
RELEASE_BIN = .build/release/ringside

.PHONY: all build run test bench nanobench difftest demos deps docs lessons clean

all: build

deps:
	@tools/deps.sh

build: deps
	$(SWIFT) build

# The TUI on the built-in demo (on a terminal); elsewhere the hello demo runs
# headless and ends through isa-debug-exit with QEMU's success status, 33.
run: build
	@$(BIN) $(ARGS); s=$$?; [ $$s -eq 0 ] || [ $$s -eq 33 ] || exit $$s

# The whole suite: unit and differential tests (recorded Unicorn vectors,
# ndisasm/objdump records), the demo guests against QEMU, the command line,
# and every lesson (lessons/*.rsc) in batch mode under the techniques it names.
test:
	@tools/deps.sh test
	$(SWIFT) build
	$(SWIFT) test
	$(SWIFT) build -c release --product ringside
	@tools/check-demos.sh $(RELEASE_BIN)
	@tools/check-cli.sh $(BIN)
	@tools/check-gdb.sh $(BIN)
	@tools/check-lessons.sh $(RELEASE_BIN)

# Live differential run against Unicorn with a fresh seed.
difftest:
	@tools/deps.sh test
	tools/difftest/live.sh

demos:
	@tools/deps.sh test
	$(MAKE) -C demos

bench:
	@tools/deps.sh bench
	$(SWIFT) build -c release --product ringside
	$(SWIFT) build -c release --product ringside-bench
	tools/bench.sh $(RELEASE_BIN)

# Adams & Agesen's nanobenchmark table in the cost model (tools/nanobench.sh):
# modeled cycles per operation under each technique; the chart goes to
# .build/nanobench.svg.
nanobench: deps
	$(SWIFT) build -c release --product ringside
	tools/nanobench.sh

# docs/commands.md is generated from the command table (a test fails when it is stale).
docs: build
	$(BIN) reference > docs/commands.md

# Every lesson in batch mode, under each technique it names.
lessons:
	$(SWIFT) build -c release --product ringside
	tools/check-lessons.sh $(RELEASE_BIN)

clean:
	rm -rf .build
