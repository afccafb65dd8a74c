"""FSDP, DeepSpeed ZeRO-2 and ZeRO-3 on CPU: 2 gloo processes train the reduced-width
full-size SpaceVLLM config 3 iterations, save, and ``tools/test.py`` scores the checkpoint.

Each strategy runs what a user types (``torchrun ... tools/train.py CONFIG
--launcher pytorch --strategy NAME``, then ``tools/test.py CONFIG CKPT``) on
``configs/spacevllm_hcstvg.py`` shrunk by the tests' overrides (4 frames of
32 px, a 2-layer Qwen2 of width 64, a 2-layer SigLIP).
"""
import json
import math
import os.path as osp
import sys

import pytest
import torch

from mmstvg.engine.checkpoint_conversion import is_deepspeed_checkpoint
from tests.test_engine.strategy_testing_utils import (MAX_ITERS, NUM_VAL, REPO_ROOT,
                                                      run_tool,
                                                      write_tiny_full_size_config)

STRATEGIES = {'fsdp': 29641, 'deepspeed_zero2': 29642, 'deepspeed_zero3': 29643}


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    return write_tiny_full_size_config(str(tmp_path_factory.mktemp('strategies')))


def score(config, checkpoint, work_dir):
    """``tools/test.py CONFIG CHECKPOINT`` in this process (its imports are paid)."""
    sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
    try:
        import test as test_tool  # tools/test.py
    finally:
        sys.path.pop(0)
    metrics_file = osp.join(work_dir, 'metrics.json')
    argv = sys.argv
    sys.argv = ['test.py', config, checkpoint, '--work-dir', work_dir,
                '--metrics-out', metrics_file]
    try:
        test_tool.main()
    finally:
        sys.argv = argv
    with open(metrics_file) as f:
        return json.load(f)


def logged_losses(work_dir):
    """The per-iteration ``loss`` values of the scalars.json that rank 0 wrote."""
    runs = sorted(p for p in (osp.join(work_dir, d) for d in __import__('os').listdir(work_dir))
                  if osp.isdir(p) and osp.isfile(osp.join(p, 'vis_data', 'scalars.json')))
    assert runs, f'no scalars.json under {work_dir}'
    with open(osp.join(runs[-1], 'vis_data', 'scalars.json')) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r['loss'] for r in records if 'loss' in r]


@pytest.mark.parametrize('strategy', sorted(STRATEGIES))
def test_strategy_trains_saves_and_scores(strategy, tiny_config, tmp_path):
    work_dir = str(tmp_path / 'work')
    run_tool(['train.py', tiny_config, '--work-dir', work_dir, '--strategy', strategy],
             port=STRATEGIES[strategy], nproc=2)
    losses = logged_losses(work_dir)
    assert len(losses) == MAX_ITERS and all(math.isfinite(v) and v > 0 for v in losses)

    checkpoint = osp.join(work_dir, f'iter_{MAX_ITERS}.pth')
    if strategy.startswith('deepspeed'):
        # DeepSpeed saves a directory: fp32 master shards one file a rank.
        assert is_deepspeed_checkpoint(checkpoint)
    else:
        # FSDP's full state dict: one ordinary file, fp32 weights, every key.
        state = torch.load(checkpoint, map_location='cpu', weights_only=False)['state_dict']
        assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float32}
        assert any(k.startswith('llm.model.model.layers.1.') for k in state)
        assert any(k.startswith('vision_encoder.') for k in state)
        assert any(k.startswith('space_decoder.') for k in state)

    metrics = score(tiny_config, checkpoint, str(tmp_path / 'test'))
    assert metrics['stvg/num_samples'] == NUM_VAL
    assert metrics['stvg/num_missing_pred'] == 0
    assert metrics['stvg/num_nan_boxes'] == 0
    # Boxes on the ground-truth frames are scored whatever the (untrained) span.
    assert 0.0 < metrics['stvg/gt_vIoU'] <= 100.0
    if strategy.startswith('deepspeed'):
        converted = osp.join(str(tmp_path / 'test'), f'iter_{MAX_ITERS}.fp32.pth')
        state = torch.load(converted, map_location='cpu', weights_only=True)['state_dict']
        assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float32}
        # The frozen tower is not saved (exclude_frozen_parameters): it comes
        # from its pretrained weights at test time.
        assert not any(k.startswith('vision_encoder.') for k in state)
        assert any(k.startswith('llm.model.model.layers.1.') for k in state)
        assert any(k.startswith('space_decoder.') for k in state)
