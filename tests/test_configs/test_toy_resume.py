"""Issue 7's exact resume on the toy SpaceVLLM: kill a run after a checkpoint, `--resume` it.

The killed-and-resumed run must end with the same weights, optimizer state,
loss history and test metrics as an uninterrupted run with the same seed.
Both go through tools/train.py and tools/test.py as a user runs them, with
one dataloader worker so that the workers' random streams (frame jitter,
flips) are part of what must resume exactly.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import torch
from mmengine.config import Config

from tests.test_configs.test_toy_configs_train import (CONFIG_ROOT, NUM_TEST, REPO_ROOT,
                                                       make_tiny, toy_assets)  # noqa: F401

MAX_ITERS = 6


def write_config(toy_assets, tmp_path) -> str:
    cfg = make_tiny(Config.fromfile(osp.join(CONFIG_ROOT, 'scratch', 'spacevllm_scratch.py')),
                    toy_assets, str(tmp_path / 'unused'), max_iters=MAX_ITERS)
    cfg.train_dataloader.update(num_workers=1, persistent_workers=True)
    cfg.test_dataloader.update(num_workers=0)
    cfg.test_cfg = dict(type='TestLoop')
    cfg.test_evaluator = dict(type='STVGMetric')
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False,
                                        max_keep_ckpts=10)
    # Warm-up + cosine: the schedulers' state must resume too.
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=3),
        dict(type='CosineAnnealingLR', by_epoch=False, begin=3, end=MAX_ITERS)]
    cfg.pop('work_dir')
    path = str(tmp_path / 'toy_resume.py')
    cfg.dump(path)
    return path


def run(args, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.Popen([sys.executable, *args], env=env, cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kwargs)


def finish(proc, timeout=300):
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-4000:]
    return out


def test_killed_toy_run_resumes_exactly(toy_assets, tmp_path):
    config = write_config(toy_assets, tmp_path)
    train = osp.join(REPO_ROOT, 'tools', 'train.py')
    test = osp.join(REPO_ROOT, 'tools', 'test.py')
    full_dir, killed_dir = tmp_path / 'full', tmp_path / 'killed'

    finish(run([train, config, '--work-dir', str(full_dir)]))

    # Kill the second run with SIGKILL as soon as its first checkpoint exists.
    proc = run([train, config, '--work-dir', str(killed_dir)], start_new_session=True)
    deadline = time.time() + 300
    while not osp.exists(killed_dir / 'iter_2.pth'):
        assert proc.poll() is None, proc.stdout.read()[-4000:]
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.2)  # let the checkpoint finish writing
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not osp.exists(killed_dir / f'iter_{MAX_ITERS}.pth')
    first_checkpoint_mtime = os.stat(killed_dir / 'iter_2.pth').st_mtime_ns
    log = finish(run([train, config, '--work-dir', str(killed_dir), '--resume',
                      '--cfg-options', 'log_level=INFO']))
    # It resumed from the last checkpoint (a run from scratch, deterministic as
    # it is, would end with the same weights but rewrite iter_2.pth).
    assert 'resumed' in log.lower() and 'iter_' in log
    assert os.stat(killed_dir / 'iter_2.pth').st_mtime_ns == first_checkpoint_mtime

    full = torch.load(full_dir / f'iter_{MAX_ITERS}.pth', map_location='cpu',
                      weights_only=False)
    resumed = torch.load(killed_dir / f'iter_{MAX_ITERS}.pth', map_location='cpu',
                         weights_only=False)
    assert full['meta']['iter'] == resumed['meta']['iter'] == MAX_ITERS
    assert full['state_dict'].keys() == resumed['state_dict'].keys()
    for key, value in full['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key
    for index, state in full['optimizer']['state'].items():
        for name in ('exp_avg', 'exp_avg_sq'):
            assert torch.equal(state[name], resumed['optimizer']['state'][index][name])
    history = lambda ckpt: ckpt['message_hub']['log_scalars']['train/loss'].data[0]  # noqa
    assert len(history(full)) == MAX_ITERS
    assert np.array_equal(history(full), history(resumed))
    assert full['param_schedulers'] == resumed['param_schedulers']

    metrics = []
    for work_dir in (full_dir, killed_dir):
        out_file = str(work_dir / 'metrics.json')
        finish(run([test, config, str(work_dir / f'iter_{MAX_ITERS}.pth'), '--work-dir',
                    str(work_dir), '--metrics-out', out_file]))
        with open(out_file) as f:
            metrics.append(json.load(f))
    assert metrics[0] == metrics[1]
    assert metrics[0]['stvg/num_samples'] == NUM_TEST  # the test split
