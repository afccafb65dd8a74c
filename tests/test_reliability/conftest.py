"""Fixtures of the reliability tests: tiny runs through the real tools, in process.

- a toy regression training (tests/test_training/toy_plugin_source.py) that
  ``tools/train.py`` runs in a second or two, checkpointing every 2 iterations;
- the tiny grounder of tests/test_apis (random weights, 3 synthetic videos) as
  a config file for ``tools/test.py`` and the inferencer;
- a payload checkpoint whose unpickling would create a marker file.
"""
import os
import os.path as osp
import sys

import pytest
import torch

from mmstvg.registry import MODELS
from mmstvg.utils import register_all_modules
from tests.test_apis.conftest import synthetic_root, tiny_cfg  # noqa: F401 (fixtures)
from tests.test_training.toy_plugin_source import CONFIG_TEMPLATE, PLUGIN_SOURCE

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: The toy regression plugin under names of its own: these tests import it in
#: this process, where other tests may have registered the original names.
PLUGIN_MODULE = 'reliability_toy_plugin'
_RENAMES = {'ToyRegressionDataset': 'RelToyRegressionDataset',
            'ToyRegressor': 'RelToyRegressor',
            'DumpRankStateHook': 'RelDumpRankStateHook',
            'ToyHeadFromOutside': 'RelToyHeadFromOutside'}


def _renamed(text: str) -> str:
    for old, new in _RENAMES.items():
        text = text.replace(old, new)
    return text


TOY_PLUGIN_SOURCE = _renamed(PLUGIN_SOURCE)
TOY_CONFIG_TEMPLATE = _renamed(CONFIG_TEMPLATE)


def write_toy_training(root) -> str:
    """Write the plugin and the 4-iteration toy config into ``root``."""
    (root / f'{PLUGIN_MODULE}.py').write_text(TOY_PLUGIN_SOURCE)
    config = root / 'toy_regression.py'
    config.write_text(TOY_CONFIG_TEMPLATE.format(
        runtime=osp.join(REPO_ROOT, 'configs', '_base_', 'default_runtime.py'),
        module=PLUGIN_MODULE))
    return config


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def call_main(tool: str, argv, plugin_dir=None):
    """Run ``tools/<tool>.py``'s ``main()`` in this process with ``argv``.

    The tests share one process' imports this way (a fresh interpreter spends
    most of a tiny run importing torch, transformers and MMEngine). The
    ``--unsafe-load`` opt-in is reset afterwards.
    """
    import importlib

    from mmstvg.utils import allow_unsafe_checkpoint_loading
    from mmengine.logging import MessageHub
    module = importlib.import_module(f'tools.{tool}')
    # Two runs started in the same second share an experiment name, and
    # MMEngine would hand the second one the first one's message hub (its
    # loss history): each call starts without them, as a new process does.
    MessageHub._instance_dict.clear()
    saved_argv, saved_path = sys.argv, list(sys.path)
    # the tools set LOCAL_RANK (and a launcher's variables); a later test in this
    # process (accelerate in lmms-eval) would read them as a distributed run
    saved_environ = dict(os.environ)
    sys.argv = [f'tools/{tool}.py', *map(str, argv)]
    if plugin_dir is not None:
        sys.path.insert(0, str(plugin_dir))
    try:
        return module.main()
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        os.environ.clear()
        os.environ.update(saved_environ)
        allow_unsafe_checkpoint_loading(False)


@pytest.fixture
def toy_training(tmp_path):
    """``(config, plugin_dir)`` of the 4-iteration toy regression run."""
    return write_toy_training(tmp_path), tmp_path


@pytest.fixture(scope='module')
def trained_work_dir(tmp_path_factory):
    """A finished toy regression run: ``iter_2.pth``, ``iter_4.pth``, its config."""
    root = tmp_path_factory.mktemp('toy_run')
    config = write_toy_training(root)
    call_main('train', [config, '--work-dir', root / 'work'], plugin_dir=root)
    return dict(config=config, plugin_dir=root, work_dir=root / 'work')


@pytest.fixture
def payload_checkpoint(tmp_path):
    """``(path, marker)``: a checkpoint-shaped pickle carrying :class:`Payload`."""
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'payload.pth'
    torch.save(dict(meta=dict(iter=4, note=Payload(str(marker))),
                    state_dict=dict(w=torch.zeros(1))), path)
    return path, marker


def grounder_config_file(cfg, path, work_dir) -> str:
    """The tiny grounder config as a file ``tools/test.py`` can run."""
    cfg = cfg.copy()
    cfg.test_dataloader = dict(cfg.test_dataloader, num_workers=0,
                               sampler=dict(type='DefaultSampler', shuffle=False))
    cfg.test_cfg = dict(type='TestLoop')
    cfg.test_evaluator = dict(type='STVGMetric')
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'INFO'
    cfg.dump(str(path))
    return str(path)


@pytest.fixture(scope='module')
def grounder_checkpoint(tmp_path_factory, tiny_cfg):  # noqa: F811
    """The tiny grounder's freshly built weights as ``{'meta', 'state_dict'}``."""
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg.model)
    path = tmp_path_factory.mktemp('grounder_ckpt') / 'grounder.pth'
    torch.save(dict(meta=dict(iter=0), state_dict=model.state_dict()), path)
    return str(path)
