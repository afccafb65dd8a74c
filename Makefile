# The two commands of the README:
#   make toy    set up, generate the synthetic set, train and evaluate the toy SpaceVLLM
#   make test   set up and run the test suite
# `make setup` alone creates/updates .venv (idempotent; see tools/setup_env.sh).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.mmstvg-setup-done

.PHONY: setup test toy

$(STAMP): tools/setup_env.sh setup.py requirements/build.txt requirements/runtime.txt requirements/tests.txt \
		requirements/lmms_eval.txt
	VENV=$(VENV) bash tools/setup_env.sh
	touch $@

setup: $(STAMP)

test: $(STAMP)
	$(PYTHON) -m pytest tests

toy: $(STAMP)
	PYTHON=$(PYTHON) bash tools/run_toy.sh
