# The two commands of the README:
#   make toy    set up, generate the synthetic set, train and evaluate the toy SpaceVLLM
#   make test   set up and run the test suite
# and `make demo`: the web demo on the toy model (after make toy).
# `make setup` alone creates/updates .venv (idempotent; see tools/setup_env.sh), installing
# the locked versions of requirements/constraints.txt. `make lock` moves the lock forward
# (then run the suite and commit: see tools/misc/freeze_constraints.py).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.mmstvg-setup-done

.PHONY: setup test test-portable toy lock demo

$(STAMP): tools/setup_env.sh setup.py requirements/build.txt requirements/runtime.txt requirements/tests.txt \
		requirements/lmms_eval.txt requirements/lmms_eval_evaluator.txt requirements/demo.txt \
		requirements/gradio.txt requirements/constraints.txt
	VENV=$(VENV) bash tools/setup_env.sh
	touch $@

setup: $(STAMP)

test: $(STAMP)
	$(PYTHON) -m pytest tests

# The suite again on other float kernels (unvectorised torch, MKL at SSE4.2; 2 threads in
# the test process where make test uses 1, 1 in the tools it starts where make test uses all):
# what a test asserts must hold on any x86-64 CPU and thread count (.ci/run runs both).
test-portable: $(STAMP)
	MMSTVG_TEST_THREADS=2 env $$(bash tools/misc/float_path_env.sh portable) $(PYTHON) -m pytest tests

toy: $(STAMP)
	PYTHON=$(PYTHON) bash tools/run_toy.sh

# The web demo (demo/gradio_app.py) on the toy model that `make toy` trained, at
# http://127.0.0.1:7860 (DEMO_ARGS: more options, e.g. DEMO_ARGS="--port 8000").
demo: $(STAMP)
	@checkpoint="$$(ls work_dirs/spacevllm_toy/best_stvg_m_vIoU_iter_*.pth 2>/dev/null | head -n 1)"; \
	if [ -z "$$checkpoint" ]; then echo "make demo: no work_dirs/spacevllm_toy/best_stvg_m_vIoU_iter_*.pth; run make toy first" >&2; exit 1; fi; \
	$(PYTHON) demo/gradio_app.py configs/spacevllm_toy.py "$$checkpoint" --device cpu $(DEMO_ARGS)

lock:
	rm -rf .venv-lock
	VENV=.venv-lock MMSTVG_CONSTRAINTS=none bash tools/setup_env.sh
	.venv-lock/bin/python tools/misc/freeze_constraints.py > requirements/constraints.txt
	@echo "[lock] requirements/constraints.txt rewritten; run the suite (VENV=.venv-lock make test) before committing it"
