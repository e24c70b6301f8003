# mediapipe: `make run` (demo) and `make test` work on a fresh Debian machine.
SHELL   := /bin/bash
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# command:debian-package pairs the project needs at run and test time
SYSTEM_TOOLS := ffmpeg:ffmpeg ffprobe:ffmpeg redis-server:redis-server \
                exiftool:libimage-exiftool-perl vipsthumbnail:libvips-tools \
                jpegtran:libjpeg-turbo-progs \
                systemd-analyze:systemd nix-instantiate:nix-bin promtool:prometheus
# (the last three check deploy/: systemd units, the NixOS module, the alert rules)
PYTEST_ARGS ?=

.PHONY: install system-deps test bench run worker fixtures lint soak docs clean

install: system-deps $(STAMP)

system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
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

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# pytest exits 5 when it ran no test: that is a failure here too.
test: install
	@set +e; $(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no tests"; exit 1; fi; exit $$rc

soak: install
	$(BIN)/python -m pytest -m slow tests/reliability $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench

# The API reference, from the docstrings: every module named (pdoc shows a package's __all__).
DOC_MODULES = $(shell find mediapipe workers -name '*.py' | sed 's|/__init__\.py$$||; s|\.py$$||; s|/|.|g' | grep -v '__main__' | sort)
docs: install
	$(BIN)/pdoc -o build/docs $(DOC_MODULES)

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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .import_linter_cache fixtures/out
