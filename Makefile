# Depot: `make run` starts it on embedded defaults; `make test` runs the whole suite
# against real servers. Downloads are cached by pip under ~/.cache.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint bench bench-peers bench-goproxy bench-ui bench-search bench-insight bench-graph bench-ingest bench-soak bench-corpus bench-latency bench-docs install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Then Depot itself in development mode (the checkout's app/ and jobs/ are what runs), built
# by the venv's pinned setuptools: --no-build-isolation, so it downloads nothing.
$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml
	@echo "installing the pinned requirements into $(VENV) (from PyPI; no deadline)…"
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	@echo "installing the pinned test requirements into $(VENV) (from PyPI; no deadline)…"
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	$(BIN)/flask --app app migrate
	@echo "Depot on http://$${DEPOT_HOST:-127.0.0.1}:$${DEPOT_PORT:-8080}"
	exec $(BIN)/flask --app app serve

# Three test processes (pytest-xdist) on the two cores the suite is sized for: with two,
# a core sat idle a quarter of the run while the tests that wait on leases, retries and
# slow upstreams waited. A file's tests stay in one process, in the order tests/conftest.py
# gives (LONGEST_FIRST). TEST_PROCESSES=0 runs them all in this one.
# Every test starts Python processes (servers, workers, commands): their compiled modules
# are kept under ~/.cache, not rewritten from source by each one (which costs a sixth of a
# start-up) when the environment asks Python to write none.
TEST_PROCESSES ?= 3
TEST_PYCACHE ?= $(HOME)/.cache/depot-tests/pycache
test: lint
	PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(TEST_PYCACHE) scripts/with-test-services \
		$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile --no-loadscope-reorder \
		$(PYTEST_ARGS)

# ruff, the import contracts of pyproject.toml (the rooms talk one way, no cycles), and
# mypy over the files of its [tool.mypy].
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	PYTHONPATH=. $(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# Every benchmark, one after the other (the ingest of 10,000 versions takes about 40 min);
# each prints Markdown for docs/bench.md. Run them on a quiet machine.
bench: bench-goproxy bench-ui bench-search bench-insight bench-graph bench-ingest bench-soak

bench-goproxy: $(VENV)/.installed-dev
	$(BIN)/python bench/goproxy.py

bench-ui: $(VENV)/.installed-dev
	$(BIN)/python bench/ui.py

bench-search: $(VENV)/.installed-dev
	$(BIN)/python bench/search.py

# The insight score's facts over 10,000 module versions (docs/insight.md).
bench-insight: $(VENV)/.installed-dev
	$(BIN)/python bench/insight.py

# The dependency graph's walk, SVG and Graph tab over 10,000 synthetic versions (docs/graph.md).
bench-graph: $(VENV)/.installed-dev
	$(BIN)/python bench/graph.py

bench-ingest: $(VENV)/.installed-dev
	$(BIN)/python bench/ingest.py

# Ten minutes of mixed load on Depot as `make run` starts it (docs/reliability.md).
bench-soak: $(VENV)/.installed-dev
	$(BIN)/python bench/soak.py

# Real module versions (bench/corpus.txt, 650 of them) through a fresh Depot and the real
# upstream, each published one checked by a real go consumer through Depot alone and through
# the upstream (docs/bench.md, "Real corpus"). Not part of `make bench`: the whole corpus
# takes hours and needs the network; CORPUS_ARGS picks a slice, e.g. "--limit 60 --spread".
bench-corpus: $(VENV)/.installed-dev
	$(BIN)/python bench/corpus.py $(CORPUS_ARGS)

# How long a user waits (docs/bench.md, "Latency and the order of work"): a cold GOPROXY
# miss for cobra against a fresh Depot and the upstream, a request on an empty Depot, and
# a request behind goreleaser's 140-module crawl. Not part of `make bench`: it needs the
# network (the real Go module proxy and checksum database) and takes 20-30 min;
# LATENCY_ARGS picks a part, e.g. "--only cold,request".
bench-latency: $(VENV)/.installed-dev
	$(BIN)/python bench/latency.py $(LATENCY_ARGS)

# Depot beside its peers (docs/bench.md, "Depot and its peers"): Depot alone as `make run`
# starts it, behind its nginx sidecar, Athens and nginx static on the same real files, then
# cold and warm `go mod download all`. Not part of `make bench`: it needs the network. Athens
# is built from a source clone by bench/build-athens; ATHENS_BIN=<its binary> (or
# PEERS_ARGS="--athens URL") adds its rows, which are skipped, saying so, without.
bench-peers: $(VENV)/.installed-dev
	$(BIN)/python bench/peers.py $(if $(ATHENS_BIN),--athens-bin $(ATHENS_BIN)) $(PEERS_ARGS)

# Package documentation of large real modules (docs/bench.md, "Package documentation of a
# large module"): golang.org/x/tools and the AWS SDK's S3 client ingested into a fresh
# Depot, their documentation made again and timed, their Doc, Packages, package and Files
# pages timed in sequence and under wrk. Not part of `make bench`: it needs the network and
# takes 15-25 min (the ingests); DOCS_ARGS picks modules, e.g. "--module M@V".
bench-docs: $(VENV)/.installed-dev
	$(BIN)/python bench/docs.py $(DOCS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
