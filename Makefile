# Omnidesk. Two commands on a fresh machine:
#   make run    install what is needed, then run the product on its embedded default with a demo municipality
#   make test   install what is needed, start PostgreSQL/Redis if they are down, run the whole suite
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install browser mailserver services migrate messages worker beat clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -rf omnidesk.egg-info  # a stale one in the work tree would hide new entry points
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

run: export OMNIDESK_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seeddemo
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

# Debian's Chromium for the browser tests (never `playwright install`: it downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# Debian's Dovecot for the email channel tests. The tests start private instances (own config, base_dir and
# ports, see channels_plugins/email/tests/servers.py); the package's own system service is never used, so it
# does not matter whether it starts (it would take 143/993, which the tests never touch).
mailserver:
	@test -x /usr/sbin/dovecot || (apt-get update -qq && apt-get install -y -qq dovecot-imapd >/dev/null)

# PostgreSQL and Redis run on every development machine and in CI; start them if they are down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "PostgreSQL or Redis did not start" >&2; exit 1

test: install browser mailserver services
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

migrate: install
	$(PY) manage.py migrate --noinput

# Production shape helpers (need DATABASE_URL and REDIS_URL).
worker: install
	$(VENV)/bin/celery -A omnidesk worker --loglevel INFO --concurrency 2

beat: install
	$(VENV)/bin/celery -A omnidesk beat --loglevel INFO --schedule $${OMNIDESK_DATA_DIR:-var}/celerybeat-schedule

# Source strings are English; Dutch is the default language. Plugins under channels_plugins/ share the project's
# locale/ (LOCALE_PATHS); a third-party plugin (examples/) ships its own. Commit the .po and the .mo files.
messages: install
	$(PY) manage.py makemessages --locale nl --locale en --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'examples/*'
	$(PY) manage.py compilemessages --ignore '.venv/*' --ignore 'var/*' --ignore 'examples/*'

clean:
	rm -rf $(VENV) var

# The dashboard at municipal scale (docs/benchmarks.md): seeds 100,000 tickets with 1,000,000 messages into a database
# of its own, omnidesk_bench (created if missing; everything tenant-owned in it is replaced), and prints page times
# and SQL queries per page against a small baseline measured in the same run. E.g. BENCH_ARGS="--repeat 10".
BENCH_DB ?= omnidesk_bench
BENCH_ARGS ?=
BENCH_REDIS ?= redis://127.0.0.1:6379/14
.PHONY: benchmark bench
benchmark: install services
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_DB) $(PY) manage.py benchmark inbox $(BENCH_ARGS)

# The pipeline against this machine's ceilings (docs/performance.md): real gunicorn, uvicorn and Celery processes,
# a local WhatsApp peer, 50 dashboards; then the pages at 10k/100k/1M messages. E.g. BENCH_ARGS="--inbound 5000".
bench: install services
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_DB) REDIS_URL=$(BENCH_REDIS) OMNIDESK_REDIS_PREFIX=bench \
	  $(PY) manage.py benchmark pipeline $(BENCH_ARGS)
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(BENCH_DB) $(PY) manage.py benchmark inbox
