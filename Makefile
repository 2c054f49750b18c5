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

# The main job end to end. For now: build the agent image and boot it in a QEMU lab machine,
# which prints its banner (NICs, disks) and powers off. Later issues extend this to PXE and deploy.
demo: build
	$(RELEASE_BIN)/imprint lab --profile qemu-virtio --store $(STORE)

# Unit tests, builder tests and the QEMU end-to-end boot.
test: release
	# Serial: the in-process HTTP and TFTP servers starve when parallel tests block the 2-thread pool.
	IMPRINT_BIN=$(RELEASE_BIN)/imprint $(SWIFT) test --no-parallel $(SWIFT_FLAGS)

bench: release
	scripts/bench

clean:
	rm -rf .build store

# Fuzz targets (libFuzzer), each a bounded run over its committed corpus.
fuzz: bootstrap
	scripts/fuzz
