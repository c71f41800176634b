# Tickiti interventions. `make run` starts the server, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
TOOL := $(GO) tool -modfile=tools/go.mod
GOOGLE_PROTO_FILES := google-proto-files@6.0.1
THIRD_PARTY := third_party/googleapis/google/api/annotations.proto

.PHONY: run build generate proto ent lint test test-go check-generated bench postgres chromium fmt vet

run: build
	./bin/tickiti serve

build:
	$(GO) build -o bin/tickiti ./cmd/tickiti

# The google/api protos come from npm, unpacked into the git-ignored third_party/.
$(THIRD_PARTY):
	@mkdir -p third_party/googleapis /tmp/tickiti-npm
	cd /tmp/tickiti-npm && npm pack --silent $(GOOGLE_PROTO_FILES) >/dev/null
	tar -xzf /tmp/tickiti-npm/google-proto-files-6.0.1.tgz -C third_party/googleapis --strip-components=1 \
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
