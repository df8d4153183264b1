# Framelift: the two commands of the quick start are `make dev` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help dev build test staging soak check-aws lambda deploy redrive lint fmt bench clean

help:
	@echo "make dev    - build and run the local stack (web page and API) at http://localhost:$${PORT:-8080} (state in $${FRAMELIFT_DATA:-.framelift})"
	@echo "make test   - install what the tests need, then run every test"
	@echo "make soak   - the longer reliability runs (tests marked ignored), with their figures"
	@echo "make lambda - cross-build every function for arm64 Lambda and the ffmpeg layer (for sam build/deploy)"
	@echo "make deploy - install the SAM CLI and cargo-lambda, build, and deploy the stack (guided the first time)"
	@echo "make redrive - hand the transcoder's failed events (its failure queue) back to it, once the cause is fixed"
	@echo "make staging - the AWS world staged on this machine: the functions under a Lambda runtime, moto, IAM checked"
	@echo "make lint   - rustfmt check and clippy with warnings denied"
	@echo "make bench  - benchmarks, each beside its baseline (release build)"

build:
	@scripts/check-rust.sh
	@scripts/need.sh curl jq
	@scripts/fetch-ffmpeg.sh >/dev/null
	@if [ ! -x target/debug/framelift-devserver ]; then echo "First build: compiling the workspace takes several minutes on a small machine..."; fi
	cargo build -p framelift-devserver -p framelift-cli
	@scripts/web.sh

dev: build
	./target/debug/framelift-devserver

test:
	@scripts/check-rust.sh
	@scripts/need.sh curl jq
	@scripts/fetch-ffmpeg.sh >/dev/null
	@scripts/fetch-real-media.sh >/dev/null
	@scripts/web.sh --test
	@py=$$(scripts/python-tools.sh) && sam=$$(scripts/python-tools.sh sam) && aws=$$(scripts/python-tools.sh aws) && \
		FRAMELIFT_PYTHON="$$py" FRAMELIFT_SAM_PYTHON="$$sam" FRAMELIFT_CARGO_LAMBDA="$$(dirname "$$aws")/cargo-lambda" \
		cargo test --workspace
	@$(MAKE) --no-print-directory check-aws

soak:
	@scripts/check-rust.sh
	@scripts/fetch-ffmpeg.sh >/dev/null
	@py=$$(scripts/python-tools.sh) && FRAMELIFT_PYTHON="$$py" FRAMELIFT_FUZZ_CASES=100000 FRAMELIFT_CHAOS_UPLOADS=200 FRAMELIFT_LOAD_REQUESTS=10000 FRAMELIFT_LOAD_UPLOADS=20 \
		cargo test --release -p framelift-tests --test state --test fuzz --test events_chaos --test load -- --include-ignored --nocapture

# The deployment's checks: the template (cfn-lint, sam validate --lint), the workflows against GitHub's schema, and one
# function cross-built for arm64 so packaging cannot rot unnoticed, run once under qemu with the layer's ffmpeg.
check-aws:
	@aws=$$(dirname $$(scripts/python-tools.sh aws)) && $$aws/cfn-lint template.yaml && echo "cfn-lint: template.yaml clean"
	@sam=$$(dirname $$(scripts/python-tools.sh sam)) && mkdir -p .tools/lambda/ffmpeg-layer/bin && \
		SAM_CLI_TELEMETRY=0 $$sam/sam validate --lint --template template.yaml --region us-east-1
	@aws=$$(dirname $$(scripts/python-tools.sh aws)) && $$aws/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	@scripts/lambda.sh --debug framelift-abort
	@scripts/check-aarch64.sh

lambda:
	@scripts/check-rust.sh
	@scripts/lambda.sh

deploy:
	@scripts/deploy.sh

redrive:
	@py=$$(scripts/python-tools.sh sam) && "$$py" scripts/redrive.py

# The staged AWS suite alone (make test runs it too).
staging:
	@scripts/check-rust.sh
	@scripts/fetch-ffmpeg.sh >/dev/null
	@scripts/fetch-real-media.sh >/dev/null
	@py=$$(scripts/python-tools.sh) && sam=$$(scripts/python-tools.sh sam) && aws=$$(scripts/python-tools.sh aws) && \
		FRAMELIFT_PYTHON="$$py" FRAMELIFT_SAM_PYTHON="$$sam" FRAMELIFT_CARGO_LAMBDA="$$(dirname "$$aws")/cargo-lambda" \
		cargo test -p framelift-tests $(patsubst functions/%/,-p framelift-%,$(wildcard functions/*/)) \
			--test cold_start --test staged_env --test staged_functions --test staged_aws --test staged_failures

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
	cargo bench -p framelift-tests --bench long
	cargo bench -p framelift-tests --bench catalogue
	cargo build --release $(patsubst functions/%/,-p framelift-%,$(wildcard functions/*/))
	cargo bench -p framelift-tests --bench coldstart

clean:
	cargo clean
	rm -rf .tools
