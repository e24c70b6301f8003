# mediapipe: `make run` (demo) and `make test` work on a fresh Debian machine.
SHELL   := /bin/bash
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# command:debian-package pairs the project needs to run (make install); gcc and Python's
# headers build the compiled resampler (thumbnails/_polyphase.c) as pip installs the package
SYSTEM_TOOLS := ffmpeg:ffmpeg ffprobe:ffmpeg redis-server:redis-server \
                exiftool:libimage-exiftool-perl vipsthumbnail:libvips-tools \
                cc:gcc python3-config:python3-dev
# ... and those only the tests use (make install-dev): jpegtran makes arithmetic-coded JPEGs; to
# check deploy/: the systemd units, the
# sysusers/tmpfiles files and the install recipe, the NixOS module, the alert rules. Debian's
# prometheus package also starts a Prometheus server: test machines only.
DEV_TOOLS := systemd-analyze:systemd systemd-sysusers:systemd systemd-tmpfiles:systemd \
             nix-instantiate:nix-bin promtool:prometheus jpegtran:libjpeg-turbo-progs
PYTEST_ARGS ?=

.PHONY: install install-dev system-deps dev-deps test reliability bench run worker fixtures lint \
        soak docs clean dist floors

install: system-deps $(STAMP)

# What the tests need beyond running: make test and CI (.ci/run) use it.
install-dev: install dev-deps

system-deps:
	@$(MAKE) --no-print-directory apt-tools TOOLS="$(SYSTEM_TOOLS)"

dev-deps:
	@$(MAKE) --no-print-directory apt-tools TOOLS="$(DEV_TOOLS)"

.PHONY: apt-tools
apt-tools:
	@missing=""; for pair in $(TOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	if [ -n "$${missing// /}" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages; run: sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml setup.py mediapipe/thumbnails/_polyphase.c
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# pytest with the given arguments; it exits 5 when it ran no test: that is a failure here too.
define pytest_run
	@set +e; $(BIN)/python -m pytest $(1) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no tests"; exit 1; fi; exit $$rc
endef

# Three sets, by marker (pyproject.toml): `make test`, every test but the two below (under five
# minutes on two cores), one pytest-xdist worker per core, each taking whole files (a module's
# fixtures, such as the built wheel, made once) (PYTEST_ARGS="-n 0": in one process);
# `make reliability`, the reliability-grade runs (tests/reliability and the marked worker kills
# and outages: real processes killed, brokers stopped, ports flooded), one at a time, as their
# timings and figures table want; `make soak`, their long variants. CI (.ci/run) runs `test`
# and `reliability`.
test: install-dev
	$(call pytest_run,-n logical --dist loadfile)

reliability: install-dev
	$(call pytest_run,-m 'reliability and not slow')

soak: install
	$(call pytest_run,-m slow tests/reliability)

bench: install
	$(BIN)/python -m bench

# The API reference, from the docstrings: every module named (pdoc shows a package's __all__).
# CI builds it (.ci/run): any module pdoc cannot render fails it, and the top page must show the
# package's public names.
DOC_MODULES = $(shell find mediapipe -name '*.py' | sed 's|/__init__\.py$$||; s|\.py$$||; s|/|.|g' | grep -v '__main__' | sort)
docs: install
	rm -rf build/docs
	$(BIN)/pdoc -o build/docs $(DOC_MODULES)
	@for name in read_metadata process_asset; do \
	  grep -q "$$name" build/docs/mediapipe.html || { echo "docs: $$name missing from mediapipe.html"; exit 1; }; \
	done
	@test -f build/docs/mediapipe/pipeline/steps.html || { echo "docs: no page for mediapipe.pipeline.steps"; exit 1; }

fixtures: install
	$(BIN)/python -m fixtures fixtures/out

# The embedded default: a generated demo library ingested into ./media, no broker.
run: install
	$(BIN)/python -m fixtures demo >/dev/null
	$(BIN)/mediapipe init ./media >/dev/null
	$(BIN)/mediapipe ingest ./demo --media-root ./media
	@echo "outputs: ./media/thumbs ./media/encoded-video   catalog: ./media/catalog.db"

worker: install
	$(BIN)/mediapipe worker

# Every check runs, so one report shows all violations; any failure fails the target.
LINTERS := "ruff check mediapipe workers fixtures tests bench" lint-imports mypy "deptry ."
lint: install
	@rc=0; for check in $(LINTERS); do \
	  echo "== $$check"; $(BIN)/$$check || rc=1; \
	done; exit $$rc

# The wheel and the sdist, in dist/ (the sdist carries tests/, fixtures/ and bench/: its tests
# pass from the unpacked sdist).
dist: install
	rm -rf dist build/lib build/bdist.*
	$(BIN)/python -m build -o dist .

# The dependency floors, proven: the lowest version each requirement allows, installed into a
# scratch venv from the wheel, then the demo library ingested with it; any failed asset fails.
FLOORS := build/floors
floors: install
	rm -rf $(FLOORS) && mkdir -p $(FLOORS)
	$(BIN)/python -c 'import re, tomllib; deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; print("\n".join(re.sub(r"\[.*?\]", "", d).replace(">=", "==") for d in deps))' > $(FLOORS)/constraints.txt
	$(PY) -m venv $(FLOORS)/venv
	$(FLOORS)/venv/bin/python -m pip install -q --constraint $(FLOORS)/constraints.txt .
	cd $(FLOORS) && PYTHONPATH=$(CURDIR) $(CURDIR)/$(BIN)/python -m fixtures demo >/dev/null
	$(FLOORS)/venv/bin/mediapipe init $(FLOORS)/media >/dev/null
	$(FLOORS)/venv/bin/mediapipe ingest $(FLOORS)/demo --media-root $(FLOORS)/media --json > $(FLOORS)/summary.json
	@$(FLOORS)/venv/bin/python -c 'import json, sys; s = json.load(open(sys.argv[1])); print("floors: %(new)s assets, %(processed)s processed, %(failed)s failed" % s); sys.exit(1 if s["failed"] or not s["processed"] else 0)' $(FLOORS)/summary.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .import_linter_cache fixtures/out \
	  build dist
