# kvm-coco-mmu: one target per user action; each calls a script in scripts/.
# Variables: DEBUG=1 (debug kernel), KCONFIG=path (your own config),
# FORCE=1 (make tree: throw away unexported work), ACCEL=kvm|tcg,
# TEST_LIST=file, LEG="amd amd-debug intel intel-eptad0" (make check: the legs to run; default all).

SHELL := /bin/bash
export DEBUG KCONFIG FORCE ACCEL TEST_LIST LEG

.PHONY: all deps tree build check bench test lint bisect export clean help

all: deps build

deps:
	@scripts/deps.sh

tree: deps
	@scripts/tree.sh create

build:
	@scripts/tree.sh ensure
	@scripts/build.sh all

check:
	@scripts/check.sh

bench:
	@scripts/bench.sh

test:
	@tests/tooling/run.sh

lint:
	@scripts/tree.sh ensure
	@scripts/lint.sh

bisect:
	@scripts/tree.sh ensure
	@scripts/bisect.sh

export:
	@scripts/export.sh

clean:
	rm -rf build/obj build/obj-debug build/obj-custom build/obj-bisect

help:
	@sed -n '1,5p' Makefile
