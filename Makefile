# The two commands a newcomer needs (see README):
#   make demo   installs what is missing, builds coroner, runs it on a bundled capture
#   make test   installs what is missing, runs the whole test suite
# Other targets: make build, make lab (regenerate captures/, needs root), make bench, make fuzz.

SWIFT ?= swift
DEMO_CAPTURE ?= captures/server-closed-client-sends-twice.pcap

.PHONY: demo test test-asan build lab lab-check bench fuzz deps test-deps

deps:
	@scripts/ensure-deps.sh

test-deps:
	@scripts/ensure-deps.sh --for-tests

build: deps
	$(SWIFT) build -c release --product coroner

demo: build
	.build/release/coroner analyze -v $(DEMO_CAPTURE)

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) test-asan

# The whole suite again under AddressSanitizer (part of `make test`, so CI runs it). Leak detection is off:
# the only leaks LeakSanitizer reports are inside XCTest's runner and Foundation's Process (test harness).
# (Swift has no undefined-behaviour sanitizer on Linux: swiftc rejects -sanitize=undefined.)
test-asan:
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test -Xswiftc -sanitize=address --scratch-path .build/asan

lab:
	python3 lab/run.py --out captures

# Regenerate the lab into a scratch folder and diff coroner's verdicts against its expected files.
lab-check: build
	python3 lab/run.py --out /tmp/coroner-lab
	.build/release/coroner analyze --format json --quiet /tmp/coroner-lab/*.pcap* > /tmp/coroner-lab/report.json || true
	python3 lab/compare.py --expected /tmp/coroner-lab /tmp/coroner-lab/report.json

# Long fuzzing run (libFuzzer + AddressSanitizer, Fuzz/ nested package): until Ctrl-C, or e.g.
#   make fuzz FUZZ_ARGS="--time 3600"      make fuzz FUZZ_ARGS="--no-asan --runs 5000000"
# CI-sized run: scripts/fuzz.sh --ci (about a minute after the build). Crashes land in Fuzz/artifacts/.
fuzz:
	scripts/fuzz.sh $(FUZZ_ARGS)

# Benchmark (scripts/bench.sh): generates a 200k-connection capture in /tmp, times coroner against a C
# libpcap floor, tshark and tcptrace, checks verdict counts. BIG=1 adds a 2M-connection (~4.5 GB) run.
#   make bench           make bench BIG=1 RUNS=5
bench: deps
	BIG=$(BIG) RUNS=$(or $(RUNS),3) scripts/bench.sh
