"""Item 6 of issue 15: every toy config trains a step under ``tools/train.py --amp``.

The config goes through ``tools/train.py``'s own ``merge_args`` with
``--amp`` (bf16 autocast; on CPU mmstvg's ``CPUAutocastOptimWrapper``), is
pointed at the tiny assets of tests/test_configs, and trains one iteration.
"""
import argparse
import math
import os.path as osp

import pytest
from mmengine.config import Config

from mmstvg.engine.runner_builder import build_runner
from tests.test_configs.test_toy_configs_train import (CONFIG_ROOT, TOY_CONFIGS,  # noqa: F401
                                                       logged_losses, make_tiny,
                                                       toy_assets)
from tools.train import merge_args

def amp_args(config: str, work_dir: str) -> argparse.Namespace:
    return argparse.Namespace(config=config, work_dir=work_dir, amp=True, resume=None,
                              unsafe_load=False, strategy=None, cfg_options=None,
                              launcher='none')


@pytest.mark.parametrize('name', sorted(TOY_CONFIGS))
def test_toy_config_trains_one_step_under_amp(name, toy_assets, tmp_path):  # noqa: F811
    path = osp.join(CONFIG_ROOT, name)
    work_dir = str(tmp_path / 'work')
    cfg = make_tiny(Config.fromfile(path), toy_assets, work_dir, max_iters=1)
    cfg = merge_args(cfg, amp_args(path, work_dir))
    assert cfg.optim_wrapper.type == 'CPUAutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    if cfg.model.type == 'TextBoxGroundingLLM':
        cfg.model.max_new_tokens = 8
    runner = build_runner(cfg)
    runner.train()
    losses = logged_losses(runner)
    assert 'loss' in losses and len(losses['loss']) == 1
    assert all(math.isfinite(v[0]) and v[0] > 0 for v in losses.values()), losses
