# Tickiti interventions. `make run` starts the server, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
TOOL := $(GO) tool -modfile=tools/go.mod
GOOGLE_PROTO_FILES := google-proto-files@6.0.1
THIRD_PARTY := third_party/googleapis/google/api/annotations.proto
NPM_TGZ := /tmp/tickiti-npm/google-proto-files-6.0.1.tgz

# Builds and tests must not depend on the caller's Go settings: a GOFLAGS
# like -mod=vendor or -tags=... (from the environment or `go env -w`), or a
# go.work in a parent folder, would change what is built. An empty GOFLAGS
# would not do: go then falls back to the `go env -w` file.
export GOFLAGS := -mod=readonly
export GOWORK := off

# check-generated deletes and rewrites gen/ while lint and the tests read it,
# so the targets never run side by side, even under make -j.
.NOTPARALLEL:

.PHONY: run build generate proto ent lint test test-go check-generated bench postgres chromium fmt vet

run: build
	./bin/tickiti serve

build:
	$(GO) build -o bin/tickiti ./cmd/tickiti

# The google/api protos come from npm, unpacked into the git-ignored third_party/.
# The tarball is fetched once (from npm's cache when it has it), so this
# works offline afterwards.
$(THIRD_PARTY):
	@mkdir -p third_party/googleapis $(dir $(NPM_TGZ))
	test -f $(NPM_TGZ) || (cd $(dir $(NPM_TGZ)) && npm pack --silent --prefer-offline $(GOOGLE_PROTO_FILES) >/dev/null)
	tar -xzf $(NPM_TGZ) -C third_party/googleapis --strip-components=1 \
		package/google/api/annotations.proto package/google/api/http.proto \
		package/google/api/field_behavior.proto package/google/api/httpbody.proto
	@touch $@

third_party: $(THIRD_PARTY)

generate: proto ent

proto: $(THIRD_PARTY)
	rm -rf gen
	$(TOOL) buf lint api
	$(TOOL) buf generate

ent:
	$(GO) generate ./ent

lint: $(THIRD_PARTY)
	$(TOOL) buf lint api
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

# check-generated regenerates gen/ and ent/ and fails when that changed,
# added or removed any file there: the committed code must be exactly what
# `make generate` makes. The files are compared with what they were just
# before regenerating (snapshotted into a throw-away git index), not with
# HEAD, so uncommitted work with its code regenerated passes; on a clean
# clone, as in CI, the two are the same.
check-generated:
	@set -euo pipefail; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	GIT_INDEX_FILE=$$tmp/index git read-tree HEAD; \
	GIT_INDEX_FILE=$$tmp/index git add -A -- gen ent; \
	$(MAKE) --no-print-directory generate; \
	stale=$$(GIT_INDEX_FILE=$$tmp/index git status --porcelain --untracked-files=all -- gen ent \
		| awk 'substr($$0, 2, 1) != " "'); \
	if [ -n "$$stale" ]; then \
		echo "$$stale" | sed 's/^.. /  /' >&2; \
		echo "check-generated: the generated code in gen/ or ent/ was stale;" \
			"\`make generate\` has now rewritten the files above: review and commit them." >&2; \
		exit 1; \
	fi; \
	echo "check-generated: gen/ and ent/ are up to date"

# postgres makes sure the PostgreSQL the storage tests use runs on
# 127.0.0.1:5432 and has the database test (see server/dbtest).
postgres:
	@set -euo pipefail; \
	if ! pg_isready -h 127.0.0.1 -p 5432 -q; then \
		echo "starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start \
			|| echo "pg_ctlcluster failed (a server already starting?); waiting for it anyway" >&2; \
		for i in $$(seq 40); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done; \
		pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is still not ready on 127.0.0.1:5432 after 20 s" >&2; exit 1; }; \
	fi; \
	if [ "$$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then \
		createdb -h 127.0.0.1 -U postgres test; \
	fi

# chromium is the browser the console's browser tests drive (Debian's
# package; the tests skip without it unless CI is set).
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# test runs every test, on SQLite and PostgreSQL, after checking that the
# generated code is up to date and the code is linted.
test: third_party postgres chromium check-generated lint
	$(GO) test -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -w $$(git ls-files --cached --others --exclude-standard '*.go')
