# Two commands: `make demo` runs the system, `make test` passes the tests. Both set up from scratch.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench lint clean browser fuzz vendor-bpmnjs

# The installer's chatter goes to .venv/install.log (shown only if it fails), so `make demo` opens on its banner.
$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "installing zhicheng and its dependencies into $(VENV) (log: $(VENV)/install.log)"
	@{ $(BIN)/pip install -q --upgrade pip && $(BIN)/pip install -q -e '.[dev]'; } >$(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

BPMNJS := tools/bpmn-js

# Debian's Chromium and CJK fonts for the browser tests; Playwright's own browser download cannot work here.
# The pinned bpmn-js package (npm ci in $(BPMNJS)) lets tests/unit/test_vendored_bpmnjs.py compare the vendored
# viewer, which the pages serve and the browser tests use, byte for byte with the npm release.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'noto.*cjk'; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "browser tests need: sudo apt-get install chromium fonts-noto-cjk" >&2; fi; fi
	@if [ ! -d $(BPMNJS)/node_modules ]; then \
	  if command -v npm >/dev/null; then (cd $(BPMNJS) && npm ci --no-audit --no-fund --loglevel=error) \
	    || echo "npm ci failed in $(BPMNJS): the vendored viewer's byte check will skip" >&2; \
	  else echo "the vendored viewer's byte check needs Node.js and npm (apt-get install nodejs npm)" >&2; fi; fi

# The pages' diagram viewer is committed under webapp/static/vendor/bpmn-js/<version>/ (so `make demo` needs no
# npm); this regenerates it from the version pinned in tools/bpmn-js/package-lock.json (bump it there, then run).
vendor-bpmnjs:
	cd $(BPMNJS) && npm ci --no-audit --no-fund --loglevel=error
	$(PY) tools/bpmn-js/vendor.py

demo: $(STAMP)
	$(BIN)/zhicheng demo

test: $(STAMP) browser lint
	$(BIN)/python -m pytest -n 2 -q --durations=10

test-fast: $(STAMP) lint
	$(BIN)/python -m pytest -n 2 -q -m "not e2e and not faults" --durations=10

# The long property-based fuzz (issue 12): every route as every role, FUZZ_EXAMPLES requests in all (>= 10,000),
# split over FUZZ_JOBS processes, each with its own database and random seed; `make test` runs the same test with
# a short profile. Each process writes its request count to test-artifacts/fuzz-count-N.txt; the total is printed.
FUZZ_EXAMPLES ?= 10000
FUZZ_JOBS ?= 4
fuzz: $(STAMP)
	mkdir -p test-artifacts && rm -f test-artifacts/fuzz-count-*.txt
	seq 1 $(FUZZ_JOBS) | xargs -P $(FUZZ_JOBS) -I{} env ZHICHENG_FUZZ_EXAMPLES=$$(( $(FUZZ_EXAMPLES) / $(FUZZ_JOBS) )) \
	  ZHICHENG_FUZZ_REPORT=test-artifacts/fuzz-count-{}.txt $(BIN)/python -m pytest tests/fuzz -q -s -p no:cacheprovider
	@echo "fuzz requests sent: $$(cat test-artifacts/fuzz-count-*.txt | awk '{s+=$$1} END {print s}')"

bench: $(STAMP)
	$(BIN)/python -m bench

# House habits checked in CI: the tree stays ruff-formatted and lint-clean.
lint: $(STAMP)
	$(BIN)/ruff format --check -q .
	$(BIN)/ruff check -q .

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts $(BPMNJS)/node_modules
