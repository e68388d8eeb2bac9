# The two commands a newcomer needs (see README):
#   make demo   installs what is missing, builds coroner, runs it on a bundled capture
#   make test   installs what is missing, runs the whole test suite
# Other targets: make build, make lab (regenerate captures/, needs root), make bench, make fuzz.

SWIFT ?= swift
DEMO_CAPTURE ?= captures/game-server-jump-then-close.pcap

.PHONY: demo test build lab lab-check bench fuzz deps test-deps

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

lab:
	python3 lab/run.py --out captures

lab-check: build
	python3 lab/run.py --out /tmp/coroner-lab && python3 lab/compare.py --captures /tmp/coroner-lab --coroner .build/release/coroner
