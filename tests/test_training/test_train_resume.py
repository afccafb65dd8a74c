"""tools/train.py end to end with a model from outside the package: train, checkpoint, resume."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import torch

from tests.test_training.toy_plugin_source import CONFIG_TEMPLATE, PLUGIN_SOURCE

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_train(config, work_dir, plugin_dir, *extra):
    env = dict(os.environ, PYTHONPATH=str(plugin_dir), OMP_NUM_THREADS='1')
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), str(config),
           '--work-dir', str(work_dir), *extra]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def test_resume_continues_exactly(tmp_path):
    (tmp_path / 'resume_plugin.py').write_text(PLUGIN_SOURCE)
    config = tmp_path / 'toy_regression.py'
    config.write_text(CONFIG_TEMPLATE.format(
        runtime=osp.join(REPO_ROOT, 'configs', '_base_', 'default_runtime.py'),
        module='resume_plugin'))

    # Uninterrupted: 4 iterations.
    full_dir = tmp_path / 'full'
    run_train(config, full_dir, tmp_path)
    # Interrupted after the iteration-2 checkpoint, then `--resume`.
    part_dir = tmp_path / 'part'
    run_train(config, part_dir, tmp_path, '--cfg-options', 'train_cfg.max_iters=2')
    assert osp.exists(part_dir / 'iter_2.pth') and not osp.exists(part_dir / 'iter_4.pth')
    # max_iters 2 -> 4 is a change of the checkpoint's config: opted in.
    log = run_train(config, part_dir, tmp_path, '--resume', '--resume-with-changes')
    assert 'resumed' in log.lower()
    assert 'train_cfg.max_iters: 2 (checkpoint) -> 4 (this run)' in log

    full, resumed = load(full_dir / 'iter_4.pth'), load(part_dir / 'iter_4.pth')
    assert full['meta']['iter'] == resumed['meta']['iter'] == 4
    for key, value in full['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key
    full_state = full['optimizer']['state']
    resumed_state = resumed['optimizer']['state']
    for index in full_state:
        assert float(full_state[index]['step']) == float(resumed_state[index]['step']) == 4
        assert torch.equal(full_state[index]['exp_avg'], resumed_state[index]['exp_avg'])
    full_loss = full['message_hub']['log_scalars']['train/loss']
    resumed_loss = resumed['message_hub']['log_scalars']['train/loss']
    # The whole logged loss history, the pre-interruption part included.
    assert np.array_equal(full_loss.data[0], resumed_loss.data[0])
    assert len(full_loss.data[0]) == 4
    assert full_loss.current() == resumed_loss.current()
