# Two commands set everything up on a fresh machine:
#   make demo   - the main job end to end on a throw-away repository (offline)
#   make test   - the whole test suite
VENV ?= .venv
STAMP := $(VENV)/.installed-stamp

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

.PHONY: demo test install
install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jts demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 -q -p no:cacheprovider
