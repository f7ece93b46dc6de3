# Paymon's build, run and test entry points. `make run` and `make test` are
# the two commands a fresh machine needs (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin
WEB_DIST  := web/dist/paymon/browser/index.html
WEB_SRC   := $(shell find web/src web/public -type f 2>/dev/null) web/package.json web/package-lock.json web/angular.json
export PAYMON_TESTENV_REQUIRE := 1
# Tests must not inherit a developer's Paymon settings (make run does).
TESTENV := env -u PAYMON_ADDR -u PAYMON_DATA_DIR -u PAYMON_MONGODB_URI -u PAYMON_REDIS_URL -u PAYMON_PROVIDER

.PHONY: build run test lint vet staticcheck gotest fuzz-short fuzz webtest e2e screenshots deploycheck deps web bench image clean

## build: the paymon binary with the dashboard embedded
build: $(WEB_DIST)
	@scripts/step.sh "building the paymon binary (go build)" env CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/paymon ./cmd/paymon

## run: build, then start Paymon on its embedded default (SQLite in ./data, 127.0.0.1:8080)
run: build
	./$(BIN)/paymon serve

## web: the Angular dashboard, rebuilt when its sources change
web: $(WEB_DIST)
$(WEB_DIST): $(WEB_SRC)
	@cd web && ../scripts/step.sh "installing the dashboard's npm packages (npm ci)" npm ci --no-audit --no-fund --loglevel=error
	@cd web && ../scripts/step.sh "building the dashboard (Angular)" npm run build --silent
	@touch $(WEB_DIST)

## test: everything CI checks; installs what is missing first
test: deps lint gotest fuzz-short webtest e2e deploycheck
	@echo "make test: all checks passed"

deps:
	scripts/deps.sh all

lint: vet staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^web/node_modules/')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	./$(BIN)/staticcheck ./...

gotest:
	$(TESTENV) $(GO) test -race -count=1 -timeout 15m ./...

fuzz-short:
	@for target in $$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' internal | sed 's/func //' | sort -u); do \
		pkg=$$(grep -rlE "^func $$target\(" --include='*_test.go' internal | head -1 | xargs dirname); \
		echo "fuzz $$target in ./$$pkg (10s)"; \
		$(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=10s ./$$pkg; \
	done

## fuzz: longer fuzzing of every fuzz target (FUZZTIME, default 5m each)
FUZZTIME ?= 5m
fuzz:
	@for target in $$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' internal | sed 's/func //' | sort -u); do \
		pkg=$$(grep -rlE "^func $$target\(" --include='*_test.go' internal | head -1 | xargs dirname); \
		$(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) ./$$pkg; \
	done

webtest:
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm test

## e2e: browser tests (playwright-core + Debian chromium) against a real paymon serve
# Screenshots go to bin/ during tests so a test run leaves the tree clean;
# `make screenshots` refreshes the ones the README shows.
e2e: build
	mkdir -p $(BIN)/screenshots
	cd web && $(TESTENV) PAYMON_BIN=$(CURDIR)/$(BIN)/paymon PAYMON_E2E_SCREENSHOTS=$(CURDIR)/$(BIN)/screenshots node e2e/run.mjs

## screenshots: refresh docs/screenshots from a browser run
screenshots: build
	cd web && PAYMON_BIN=$(CURDIR)/$(BIN)/paymon PAYMON_E2E_SCREENSHOTS=$(CURDIR)/docs/screenshots node e2e/run.mjs

deploycheck:
	scripts/check-deploy.sh

## bench: load benchmarks; figures go to docs/benchmarks.md
BENCHTIME ?= 1x
bench:
	scripts/deps.sh ferretdb victorialogs
	$(GO) test -run='^$$' -bench=. -benchtime=$(BENCHTIME) -timeout 60m ./internal/loadtest/ | tee $(BIN)/bench.txt
	$(GO) test -run='^$$' -bench=. -benchtime=3s -timeout 30m ./internal/store/mongo/ | tee -a $(BIN)/bench.txt
	$(GO) run ./internal/loadtest/report < $(BIN)/bench.txt > docs/benchmarks.md
	@echo "wrote docs/benchmarks.md"

## image: the container image (needs a running Docker engine)
image:
	docker build -t paymon:$(VERSION) --build-arg VERSION=$(VERSION) .

clean:
	rm -rf $(BIN) web/dist/paymon
