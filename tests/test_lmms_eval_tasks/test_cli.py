"""``python -m lmms_eval`` itself, in a fresh process, on a local mmstvg task.

A run that succeeds exits 0 and writes the task's figures, which equal
``tools/test.py``'s; a run that fails (a data spec naming a missing
annotation file) exits non-zero with ``--verbosity DEBUG`` and says which
file, so a failed run is never read as a result (lmms-eval 0.7.3 prints the
error and exits 0 at any other verbosity).
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.test_lmms_eval_tasks.conftest import write_task_folder
from tests.test_lmms_eval_tasks.test_mmstvg_model_tasks import (STVG_KEYS,
                                                                tools_test_figures)

pytest.importorskip('lmms_eval')

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_cli(tiny_runs, include, task, output):
    threads = str(torch.get_num_threads())  # this process's float path, for equal figures
    env = dict(os.environ, HF_DATASETS_OFFLINE='1', HF_HUB_OFFLINE='1',
               HF_HOME=str(output / 'hf_home'), OMP_NUM_THREADS=threads,
               MKL_NUM_THREADS=threads,
               PYTHONPATH=os.pathsep.join([REPO_ROOT] + [p for p in os.environ.get(
                   'PYTHONPATH', '').split(os.pathsep) if p]))
    env.pop('LOCAL_RANK', None)
    args = [sys.executable, '-m', 'lmms_eval', '--model', 'mmstvg', '--model_args',
            f'config={tiny_runs["configs"]["stvg"]},checkpoint={tiny_runs["checkpoint"]},'
            'device=cpu', '--tasks', task, '--include_path', include, '--batch_size', '2',
            '--output_path', str(output), '--verbosity', 'DEBUG']
    return subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_cli_exit_status_and_figures(tiny_runs, tmp_path):
    spec = dict(dataset=tiny_runs['datasets']['stvg'], num_frames=5, qtype=None)
    missing = dict(spec, dataset=dict(spec['dataset'], ann_file='annotations/missing.json'))
    include = write_task_folder(tmp_path / 'tasks', {'cli_hcstvg': ('hcstvg_v1', spec),
                                                     'cli_missing': ('hcstvg_v1', missing)})
    done = run_cli(tiny_runs, include, 'cli_hcstvg', tmp_path / 'out')
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    files = glob.glob(str(tmp_path / 'out' / '**' / '*results.json'), recursive=True)
    assert len(files) == 1, files
    with open(files[0]) as f:
        figures = {k.split(',')[0]: v for k, v in
                   json.load(f)['results']['cli_hcstvg'].items() if k.endswith(',none')}
    expected = tools_test_figures(tiny_runs['configs']['stvg'], tiny_runs['checkpoint'],
                                  tmp_path / 'tools_metrics.json')
    assert {k: figures[k] for k in STVG_KEYS} == {k: expected[v] for k, v in STVG_KEYS.items()}

    failed = run_cli(tiny_runs, include, 'cli_missing', tmp_path / 'out_failed')
    assert failed.returncode != 0
    assert 'missing.json' in failed.stdout + failed.stderr
    assert not glob.glob(str(tmp_path / 'out_failed' / '**' / '*results.json'),
                         recursive=True)
