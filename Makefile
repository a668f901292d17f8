# Two commands set everything up on a fresh machine:
#   make demo   - the main job end to end on a throw-away repository (offline)
#   make test   - the whole test suite
VENV ?= .venv
STAMP := $(VENV)/.installed-stamp

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

.PHONY: demo test install tools
install: $(STAMP)

# Headless Chromium renders the sweep's HTML report in the tests: the Debian package, installed
# only when missing (needs root, as in CI); if it cannot be installed that one test is skipped.
tools:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium >/dev/null) || \
		echo "make: warning: chromium could not be installed; the HTML report test will be skipped" >&2

demo: $(STAMP)
	$(VENV)/bin/jts demo

test: $(STAMP) tools
	$(VENV)/bin/python -m pytest -n 2 -q -p no:cacheprovider
