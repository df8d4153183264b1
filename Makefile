# Framelift: the two commands of the quick start are `make dev` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help dev build test lint fmt bench clean

help:
	@echo "make dev    - build and run the local stack (web page and API) at http://localhost:$${PORT:-8080} (state in $${FRAMELIFT_DATA:-.framelift})"
	@echo "make test   - install what the tests need, then run every test"
	@echo "make lint   - rustfmt check and clippy with warnings denied"
	@echo "make bench  - benchmarks, each beside its baseline (release build)"

build:
	@scripts/check-rust.sh
	@scripts/fetch-ffmpeg.sh >/dev/null
	@if [ ! -x target/debug/framelift-devserver ]; then echo "First build: compiling the workspace takes several minutes on a small machine..."; fi
	cargo build -p framelift-devserver -p framelift-cli
	@scripts/web.sh

dev: build
	./target/debug/framelift-devserver

test:
	@scripts/check-rust.sh
	@scripts/fetch-ffmpeg.sh >/dev/null
	@scripts/web.sh --test
	@py=$$(scripts/python-tools.sh) && FRAMELIFT_PYTHON="$$py" cargo test --workspace

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench:
	@scripts/check-rust.sh
	@scripts/fetch-ffmpeg.sh >/dev/null
	cargo build --profile bench -p framelift-cli
	cargo bench -p framelift-tests --bench upload
	cargo bench -p framelift-tests --bench transcode
	cargo bench -p framelift-tests --bench catalogue

clean:
	cargo clean
	rm -rf .tools
