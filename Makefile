# imprint: every target that needs Debian packages runs scripts/bootstrap first (idempotent).
SHELL := /bin/bash
SWIFT ?= swift
STORE ?= $(CURDIR)/store
RELEASE_BIN = $(CURDIR)/.build/release
SWIFT_FLAGS ?=
ifeq ($(CI),true)
SWIFT_FLAGS += -Xswiftc -warnings-as-errors
endif

.PHONY: all bootstrap release build demo test bench fuzz clean

all: release

bootstrap:
	@scripts/bootstrap

release: bootstrap
	$(SWIFT) build -c release $(SWIFT_FLAGS)

# Build the qemu-virtio agent image into ./store.
build: release
	$(RELEASE_BIN)/imprint build recipes/qemu-virtio.yaml --store $(STORE)

# The main job end to end: build the agent image, make and add the demo disk image, add the lab
# device, serve, PXE-boot a QEMU machine (OVMF) that deploys it and reboots into it (scripts/demo).
demo: build
	IMPRINT_BIN=$(RELEASE_BIN)/imprint STORE=$(STORE) scripts/demo

# Unit tests, builder tests and the QEMU end-to-end boot.
test: release
	# Serial: the in-process HTTP and TFTP servers starve when parallel tests block the 2-thread pool.
	IMPRINT_BIN=$(RELEASE_BIN)/imprint $(SWIFT) test --no-parallel $(SWIFT_FLAGS)

bench: release
	scripts/bench
	IMPRINT_BIN=$(RELEASE_BIN)/imprint scripts/bench-profiles
	IMPRINT_BIN=$(RELEASE_BIN)/imprint scripts/bench-media
	IMPRINT_BIN=$(RELEASE_BIN)/imprint scripts/bench-mirror
	IMPRINT_BIN=$(RELEASE_BIN)/imprint scripts/bench-capture

clean:
	rm -rf .build store

# Fuzz targets (libFuzzer), each a bounded run over its committed corpus.
fuzz: bootstrap
	scripts/fuzz
