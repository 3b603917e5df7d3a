# Lectern's tasks. `make run` serves the demo portal; `make test` runs the whole test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi.py

.PHONY: run test install install-dev translations extract-messages update-translations vendor bench bench-links audit

run: install translations
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty
	$(BIN)/flask worker & worker=$$!; trap 'kill $$worker' EXIT INT TERM; \
		$(BIN)/flask run --host $(HOST) --port $(PORT)

test: install-dev translations
	sh scripts/ensure-chromium.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# .po files are committed; the .mo files are built from them.
translations: install
	$(BIN)/pybabel -q compile -d app/translations

extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --no-location \
		--project Lectern --copyright-holder Lectern -o app/translations/messages.pot .

update-translations: extract-messages
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

# Re-vendor the front-end files from npm (they are committed; pages never use a CDN).
vendor:
	npm install --no-save --no-audit --no-fund
	cp node_modules/htmx.org/dist/htmx.min.js app/static/vendor/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css app/static/vendor/pico.min.css

# Benchmarks print figures next to a bare baseline measured in the same run (see bench/).
# `make bench` needs PostgreSQL and Redis (BENCH_DATABASE_SERVER, BENCH_REDIS_URL) and wrk.
bench: install-dev translations
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-links: install
	$(BIN)/python bench/link_generation.py 10000

# Security audit. bandit skips B107 (a parameter named like a password with a string default):
# ours default to "" (no room password, no SMTP login) and real secrets only come from LECTERN_*.
# pip-audit --strict fails when it cannot look a dependency up, rather than passing unaudited.
audit: install
	$(BIN)/python -m pip install --quiet -r requirements-audit.txt
	$(BIN)/bandit -r app -q --skip B107
	$(BIN)/pip-audit --strict --progress-spinner off -r requirements.txt
