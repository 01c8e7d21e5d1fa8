# Two commands: `make demo` runs Kopilka with demo data on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test fuzz lint install messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py collectstatic --noinput -v0
	@if [ -f var/demo-credentials.txt ]; then cat var/demo-credentials.txt; \
	else $(BIN)/python manage.py load_demo | tee var/demo-credentials.txt; fi
	@echo "Kopilka: http://$(HOST):$(PORT)/  admin: http://$(HOST):$(PORT)/admin/  API docs: http://$(HOST):$(PORT)/api/v1/docs"
	$(BIN)/python manage.py analytics_refresh
	@echo "Analytics: http://$(HOST):$(PORT)/backoffice/analytics/"
	@# The background worker (analytics snapshots, what-if runs), the scheduler (nightly
	@# expiry, bonuses, tier review, the day's messages), the message sender and, with a
	@# KOPILKA_TELEGRAM_TOKEN, the Telegram bot run beside the web server and stop with it.
	$(BIN)/python manage.py db_worker --queue-name '*' --no-reload & worker=$$!; \
	$(BIN)/python manage.py scheduler & scheduler=$$!; \
	$(BIN)/python manage.py messages_send & sender=$$!; \
	bot=; if [ -n "$$KOPILKA_TELEGRAM_TOKEN" ]; then $(BIN)/python manage.py telegram_bot & bot=$$!; fi; \
	trap 'kill $$worker $$scheduler $$sender $$bot 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn kopilka.wsgi:application --pythonpath src --bind $(HOST):$(PORT) --workers 2 --limit-request-line 0 --access-logfile -

test: install
	@url=$$($(BIN)/python scripts/test_database_url.py) || exit 1; \
	echo "Testing against $$url"; \
	DATABASE_URL="$$url" $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

# Schemathesis against our OpenAPI on a real server: every check, every phase (scripts/api_fuzz.py).
fuzz: install
	$(BIN)/python scripts/api_fuzz.py --max-examples $(or $(FUZZ_EXAMPLES),50)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

messages: install
	cd src/kopilka && ../../$(BIN)/python ../../manage.py makemessages -l ru -l en --no-obsolete --ignore='migrations/*' && ../../$(BIN)/python ../../manage.py compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
