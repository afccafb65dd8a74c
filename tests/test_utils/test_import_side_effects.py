"""Importing mmstvg patches nothing; ``register_all_modules()`` /
``apply_runtime_patches()`` patch MMEngine and the loggers, once.

Each check runs in a fresh interpreter: the test process itself is patched
(tests/conftest.py applies the patches, as the tools do).
"""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Snapshots everything the patches touch, as identities and counts.
STATE = '''
import json, logging, warnings
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.runner.checkpoint import CheckpointLoader

def state():
    return dict(
        put=id(LocalBackend.put), put_text=id(LocalBackend.put_text),
        loader=id(CheckpointLoader._schemes.get('')),
        logger_filters={name: len(logging.getLogger(name).filters)
                        for name in ('DeepSpeed',)},
        warning_filters=len(warnings.filters))
'''

CHECK = STATE + '''
pristine = state()
import mmstvg, mmstvg.utils  # noqa
import mmstvg.utils.atomic_io, mmstvg.utils.checkpoint_compat, mmstvg.utils.checkpoint_keys  # noqa
import mmstvg.utils.file_names, mmstvg.utils.log_filters, mmstvg.utils.setup_env  # noqa
import mmstvg.utils.runtime_patches  # noqa
imported = state()
patched_after_import = mmstvg.utils.runtime_patches_applied()
mmstvg.utils.register_all_modules()
registered = state()
mmstvg.utils.apply_runtime_patches()
mmstvg.utils.register_all_modules()
again = state()
from mmstvg.utils.atomic_io import _put, _put_text
from mmstvg.utils.checkpoint_compat import load_local_checkpoint
print(json.dumps(dict(
    pristine=pristine, imported=imported, registered=registered, again=again,
    patched_after_import=patched_after_import,
    applied=mmstvg.utils.runtime_patches_applied(),
    python_warning_entries=sum(entry.logger is None for entry in
                               mmstvg.utils.log_filters.UNINFORMATIVE_MESSAGES),
    ours=dict(put=id(_put), put_text=id(_put_text), loader=id(load_local_checkpoint)))))
'''


def _run(code: str, **env) -> str:
    full_env = dict(os.environ, PYTHONPATH=REPO, **env)
    full_env.pop('MMSTVG_SHOW_ALL_WARNINGS', None)
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env=full_env, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_import_patches_nothing_register_all_modules_patches_once():
    result = json.loads(_run(CHECK).strip().splitlines()[-1])
    pristine, imported = result['pristine'], result['imported']
    # Importing mmstvg and every module of mmstvg.utils changes nothing.
    assert imported == pristine
    assert result['patched_after_import'] is False
    # register_all_modules() patches MMEngine with mmstvg's functions ...
    registered, ours = result['registered'], result['ours']
    assert {k: registered[k] for k in ours} == ours
    assert result['applied'] is True
    assert all(n == pristine['logger_filters'][name] + 1
               for name, n in registered['logger_filters'].items())
    # one Python warnings filter a default entry without a logger (none today)
    assert registered['warning_filters'] == (pristine['warning_filters']
                                             + result['python_warning_entries'])
    # ... and applying again (a tool, then the runner builder) changes nothing.
    assert result['again'] == registered


def test_importing_mmstvg_utils_loads_no_runner_deepspeed_or_torch():
    code = ('import sys, mmstvg.utils; print(sorted(m for m in ("torch", "mmengine.runner", '
            '"deepspeed", "transformers", "peft") if m in sys.modules))')
    loaded = _run(code).strip().splitlines()[-1]
    assert loaded == '[]', (f'import mmstvg.utils imports {loaded}: import them inside '
                            'the functions that need them (seconds of import time)')


def test_the_runner_builder_applies_the_patches_first(monkeypatch):
    from mmengine.config import Config

    from mmstvg.engine import runner_builder
    calls = []
    monkeypatch.setattr(runner_builder, 'apply_runtime_patches',
                        lambda: calls.append('patches'))
    monkeypatch.setattr(runner_builder.Runner, 'from_cfg',
                        classmethod(lambda cls, cfg: calls.append('runner')))
    runner_builder.build_runner(Config(dict(work_dir='unused')))
    assert calls == ['patches', 'runner']


class _Stop(Exception):
    """Raised by a stand-in for ``register_all_modules`` to end a constructor there."""


def _stop(init_default_scope: bool = True):
    raise _Stop


def test_the_inferencer_registers_and_patches_before_anything_else(monkeypatch):
    # The inferencer (so the demos and the lmms-eval model) gets the patches
    # through register_all_modules(), called before the config or the weights
    # are touched: this config and checkpoint would fail otherwise.
    from mmstvg.apis import grounding_inferencer
    monkeypatch.setattr(grounding_inferencer, 'register_all_modules', _stop)
    with pytest.raises(_Stop):
        grounding_inferencer.GroundingInferencer('no_such_config.py', 'no_such.pth')


def test_the_lmms_eval_model_registers_and_patches_before_loading(monkeypatch):
    pytest.importorskip('lmms_eval')
    from mmstvg.apis import grounding_inferencer, lmms_eval_model
    monkeypatch.setattr(grounding_inferencer, 'register_all_modules', _stop)
    with pytest.raises(_Stop):
        lmms_eval_model.MMSTVGLMMs(os.path.join(REPO, 'configs', 'spacevllm_toy.py'),
                                   checkpoint='no_such.pth', device='cpu')
