"""tools/dist_train.sh on CPU: 2 gloo processes match a 1-process run with the same global batch."""
import os
import os.path as osp
import subprocess
import sys

import torch

from tests.test_training.toy_plugin_source import CONFIG_TEMPLATE, PLUGIN_SOURCE

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_two_process_ddp_matches_one_process(tmp_path):
    (tmp_path / 'ddp_plugin.py').write_text(PLUGIN_SOURCE)
    config = tmp_path / 'toy_regression.py'
    config.write_text(CONFIG_TEMPLATE.format(
        runtime=osp.join(REPO_ROOT, 'configs', '_base_', 'default_runtime.py'),
        module='ddp_plugin') + "custom_hooks = [dict(type='DumpRankStateHook')]\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), OMP_NUM_THREADS='1',
               PYTHON=sys.executable, PORT='29531')

    # Global batch 4: one process x 4 samples, or two processes x 2 samples.
    one_dir, two_dir = tmp_path / 'one', tmp_path / 'two'
    subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), str(config),
                    '--work-dir', str(one_dir)], env=env, check=True, capture_output=True,
                   timeout=300)
    proc = subprocess.run(
        ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), str(config), '2',
         '--work-dir', str(two_dir), '--cfg-options', 'train_dataloader.batch_size=2'],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    single = torch.load(one_dir / 'rank0.pt')
    rank0, rank1 = torch.load(two_dir / 'rank0.pt'), torch.load(two_dir / 'rank1.pt')
    assert len(single['losses']) == len(rank0['losses']) == 4
    for key, value in rank0['state'].items():
        # DDP keeps the replicas bit-identical ...
        assert torch.equal(value, rank1['state'][key]), key
        # ... and equal to one process with the same global batch, up to the
        # order of floating-point sums in the gradient all-reduce.
        assert torch.allclose(value, single['state'][key], rtol=0, atol=1e-5), key
    # Each rank's loss is the mean over its half of the batch: their mean is
    # the single process's loss.
    for step in range(4):
        mean = (rank0['losses'][step] + rank1['losses'][step]) / 2
        assert abs(mean - single['losses'][step]) < 1e-5 * max(1.0, abs(mean))
    # Training moved the weights: the comparison is not between untouched models.
    moved = (single['state']['linear.weight'] - single['initial']['linear.weight']).abs()
    assert float(moved.max()) > 0.05
