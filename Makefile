# Two entry points: `make run` and `make test`. Everything they need is installed here,
# so a fresh clone on a fresh machine works with nothing done by hand.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint bench postgres chromium clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

run: $(STAMP)
	$(VENV)/bin/aftercare run

# The storage and dispatch tests also run on the machine's PostgreSQL. When it is down, the
# newest installed version's "main" cluster is started (several versions may be installed).
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
		version=$$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1); \
		if [ -z "$$version" ]; then echo "PostgreSQL is not installed (no /etc/postgresql/*)" >&2; exit 1; fi; \
		echo "PostgreSQL is down: starting cluster $$version/main (the newest installed version)"; \
		pg_ctlcluster --skip-systemctl-redirect $$version main start; }
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start" >&2; exit 1

# The browser tests drive Debian's chromium; Playwright never downloads a browser of its own.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy bench
	$(VENV)/bin/lint-imports --no-logo

# The suite runs on two workers (pytest-xdist; the reference machine has 2 cores): each has
# its own PostgreSQL database and temporary folders, and picks free ports. worksteal evens
# out the long tests; the 15 slowest are listed. A part alone: `.venv/bin/pytest -q tests/...`.
test: $(DEV_STAMP) postgres chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy bench
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/pytest -q -n 2 --dist worksteal --durations=15

# dashboard.py and dashboard_import.py also measure on PostgreSQL (a database of their own).
bench: $(STAMP) postgres
	$(PY) bench/dispatch.py
	$(PY) bench/enroll.py
	$(PY) bench/faq.py
	$(PY) bench/load.py
	$(PY) bench/dashboard.py
	$(PY) bench/dashboard_import.py
	$(PY) bench/operations.py

clean:
	rm -rf $(VENV) aftercare.db aftercare.db-wal aftercare.db-shm
