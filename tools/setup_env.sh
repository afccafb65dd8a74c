#!/usr/bin/env bash
# Create (or update) the project's virtual environment with the whole OpenMMLab stack.
#
# Idempotent: a second run installs nothing that is already there. The first run on a
# machine builds mmcv 2.1.0 from source with its compiled ops (about 30-40 min on 2 CPU
# cores); pip caches the built wheel, so later environments install it in seconds.
#
# Environment variables:
#   VENV          where the environment lives (default: .venv in the repository root).
#   PYTHON        the interpreter that creates it (default: python3; 3.11 is tested).
#   TORCH_SPEC    the torch requirement installed when the environment has no torch yet
#                 (default: torch==2.13.0, the CPU build). A GPU user installs their CUDA
#                 build of torch into the environment first (or sets TORCH_SPEC); an
#                 importable torch is always kept as it is.
#   MMCV_FIND_LINKS  optional folder with a prebuilt mmcv 2.1.0 wheel for this torch
#                 (CI points it at ../shared/wheels); without it mmcv builds from source.
#   MMSTVG_CONSTRAINTS  the locked versions every install goes through (default:
#                 requirements/constraints.txt, the versions the suite passed with);
#                 'none' installs the newest allowed versions instead (`make lock` uses
#                 that to move the lock forward: tools/misc/freeze_constraints.py).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo_root/.venv}"
python="${PYTHON:-python3}"
torch_spec="${TORCH_SPEC:-torch==2.13.0}"

log() { printf '[setup_env] %s\n' "$*"; }

if [[ ! -x "$venv/bin/python" ]]; then
  log "creating virtual environment at $venv"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
pip_install() { "$py" -m pip install --disable-pip-version-check -q "$@"; }

constraints="${MMSTVG_CONSTRAINTS:-$repo_root/requirements/constraints.txt}"
if [[ $constraints == none ]]; then
  log "no lock: installing the newest versions the requirements allow"
elif [[ ! -f $constraints ]]; then
  log "error: the lock file $constraints does not exist (MMSTVG_CONSTRAINTS=none installs without one)"
  exit 1
fi

if "$py" -c 'import torch' 2>/dev/null; then
  log "keeping torch $("$py" -c 'import torch; print(torch.__version__)')"
else
  log "installing $torch_spec"
  if [[ $constraints == none ]]; then pip_install "$torch_spec"; else pip_install -c "$constraints" "$torch_spec"; fi
fi

# Every later install goes through the lock (pip reads PIP_CONSTRAINT). A kept torch of
# another release than the lock's (a GPU user's build) stays: its line is left out.
if [[ $constraints != none ]]; then
  torch_release="$("$py" -c 'from importlib.metadata import version; print(version("torch").split("+")[0])')"
  locked_torch="$(sed -n 's/^torch==//p' "$constraints")"
  if [[ -n $locked_torch && $torch_release != "$locked_torch" ]]; then
    log "warning: torch $torch_release kept; the lock was tested with torch $locked_torch"
    filtered="$venv/constraints-without-torch.txt"
    grep -v '^torch==' "$constraints" > "$filtered"
    constraints="$filtered"
  fi
  export PIP_CONSTRAINT="$constraints"
  log "installing through the lock $constraints"
fi

pip_install -r "$repo_root/requirements/build.txt" numpy
pip_install mmengine==0.10.7

if "$py" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' 2>/dev/null; then
  log "keeping mmcv 2.1.0 with ops"
else
  extra=()
  if [[ -n "${MMCV_FIND_LINKS:-}" && -d "${MMCV_FIND_LINKS}" ]]; then
    extra+=(--find-links "$MMCV_FIND_LINKS")
    log "mmcv: looking for a prebuilt wheel in $MMCV_FIND_LINKS first"
  else
    log "mmcv: building 2.1.0 from source with ops (first time ~30-40 min on 2 cores; cached by pip afterwards)"
  fi
  MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    pip_install --no-build-isolation "${extra[@]}" mmcv==2.1.0
fi

pip_install -r "$repo_root/requirements/runtime.txt"
# deepspeed (in tests.txt) ships only as an sdist whose setup.py imports torch: build it
# against the torch installed above, not in an isolated environment without it.
pip_install --no-build-isolation -r "$repo_root/requirements/tests.txt"
# lmms-eval for its model adapter, without its dependencies (they would replace torch;
# see the file's comment), then what its evaluator and CLI import, with their
# dependencies through the lock (no torchvision among them).
pip_install --no-deps -r "$repo_root/requirements/lmms_eval.txt"
pip_install -r "$repo_root/requirements/lmms_eval_evaluator.txt"
# The web demo (demo/gradio_app.py): gradio's requirements and playwright through the lock,
# then gradio itself without its dependencies (its pillow and tomlkit caps would move the
# lock back; see requirements/gradio.txt). Its browser is Debian's chromium (.ci/run).
pip_install -r "$repo_root/requirements/demo.txt"
pip_install --no-deps -r "$repo_root/requirements/gradio.txt"
pip_install --no-build-isolation --no-deps -e "$repo_root"

"$py" -c 'import gradio, playwright.sync_api' || { log "error: gradio or playwright does not import"; exit 1; }
"$py" -c 'import mmcv.ops, mmdet.models, mmstvg; print("[setup_env] ok: torch", __import__("torch").__version__, "mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmstvg", mmstvg.__version__)'
