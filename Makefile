# Two commands do everything on a fresh Debian machine (see README.md):
#   make demo   start the demo lab, scan it with the suites, build the Allure report
#   make test   run the project's own tests (what CI runs)
.PHONY: setup setup-test demo test lint lab-up lab-down report clean
PY := .venv/bin/python
# the tests mostly wait (timeouts, servers, subprocess runs), so more workers than cores pay;
# tests that share a fixture or an address stay in one worker (tests/conftest.py)
TEST_WORKERS ?= 8

setup:
	@scripts/setup.sh

# the tests' real servers and peer tools (nginx, OpenSSH, vsftpd, chromium, ...) come only here
setup-test:
	@scripts/setup.sh --test

demo: setup
	@scripts/demo.sh

test: setup-test
	$(PY) -m ruff check harness suites tests bench
	$(PY) -m mypy
	$(PY) -m pytest tests -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup --durations=20 $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check harness suites tests bench
	$(PY) -m ruff format --check harness suites tests bench
	$(PY) -m mypy

lab-up: setup
	.venv/bin/harness lab up

lab-down:
	.venv/bin/harness lab down

report: setup
	.venv/bin/harness report

clean:
	.venv/bin/harness lab down || true
	rm -rf reports/allure-results reports/allure-report reports/lab
