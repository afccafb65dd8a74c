"""Item 6 of issue 15: schedules follow ``max_iters`` overrides; dist_*.sh use the project's Python."""
import os
import os.path as osp
import shutil
import stat
import subprocess

import pytest
import torch
from mmengine.config import Config
from mmengine.optim.scheduler import CosineAnnealingLR

from mmstvg.engine.schedule_follow import follow_loop_length

from .conftest import PLUGIN_MODULE, REPO_ROOT, TOY_PLUGIN_SOURCE, call_main

SCHEDULES = osp.join(REPO_ROOT, 'configs', '_base_', 'schedules')


def spans(cfg):
    return [(s['type'], s.get('begin', 0), s.get('end')) for s in cfg.param_scheduler]


def overridden(path, options):
    file_cfg = Config.fromfile(path)
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(options)
    return follow_loop_length(cfg, file_cfg, options)


def test_iteration_schedule_follows_max_iters():
    cfg = overridden(osp.join(SCHEDULES, 'toy_cpu.py'), {'train_cfg.max_iters': 20})
    # the warm-up scales to 1 iteration: dropped (MMEngine would stay at 1 %)
    assert spans(cfg) == [('CosineAnnealingLR', 1, 20)]
    cfg = overridden(osp.join(SCHEDULES, 'toy_cpu.py'), {'train_cfg.max_iters': 80})
    assert spans(cfg) == [('LinearLR', 0, 2), ('CosineAnnealingLR', 2, 80)]
    cfg = overridden(osp.join(SCHEDULES, 'toy_cpu.py'), {'train_cfg.max_iters': 400})
    assert spans(cfg) == [('LinearLR', 0, 10), ('CosineAnnealingLR', 10, 400)]
    cfg = overridden(osp.join(SCHEDULES, 'toy_cpu.py'), {'train_cfg.max_iters': 8000})
    assert spans(cfg) == [('LinearLR', 0, 200), ('CosineAnnealingLR', 200, 8000)]


def test_epoch_schedule_follows_max_epochs_and_keeps_the_iteration_warmup():
    cfg = overridden(osp.join(SCHEDULES, 'llm_adamw_cosine_2e.py'),
                     {'train_cfg.max_epochs': 1})
    assert spans(cfg) == [('LinearLR', 0, 200), ('CosineAnnealingLR', 0, 1)]
    assert cfg.param_scheduler[1]['convert_to_iter_based'] is True


def test_a_schedule_set_by_hand_is_kept_and_warned_about(monkeypatch):
    warned = []
    monkeypatch.setattr('mmstvg.engine.schedule_follow.print_log',
                        lambda msg, **kw: warned.append((msg, kw.get('level'))))
    options = {'train_cfg.max_iters': 20,
               'param_scheduler': [dict(type='CosineAnnealingLR', by_epoch=False,
                                        begin=0, end=50)]}
    cfg = overridden(osp.join(SCHEDULES, 'toy_cpu.py'), options)
    assert spans(cfg) == [('CosineAnnealingLR', 0, 50)]
    assert warned == [('param_scheduler CosineAnnealingLR [0, 50) ends after the training '
                       'loop (max_iters=20): the schedule does not follow the loop '
                       'length; set its begin/end too.', 30)]


def test_a_short_run_through_tools_train_decays(tmp_path):
    """``--cfg-options train_cfg.max_iters=4`` on the toy schedule: the lr
    decays from the base lr within the 4 iterations (without following, the
    run would stay in the warm-up at 1-4 % of it)."""
    (tmp_path / f'{PLUGIN_MODULE}.py').write_text(TOY_PLUGIN_SOURCE)
    config = tmp_path / 'toy_schedule.py'
    config.write_text(
        f"_base_ = [{osp.join(REPO_ROOT, 'configs/_base_/default_runtime.py')!r}, "
        f"{osp.join(SCHEDULES, 'toy_cpu.py')!r}]\n"
        f"custom_imports = dict(imports=[{PLUGIN_MODULE!r}], allow_failed_imports=False)\n"
        "model = dict(type='RelToyRegressor')\n"
        "train_dataloader = dict(batch_size=4, num_workers=0, sampler=dict("
        "type='DefaultSampler', shuffle=True), dataset=dict(type='RelToyRegressionDataset'))\n"
        "val_cfg = None\ntest_cfg = None\n"
        "default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=4, "
        "by_epoch=False))\n")
    work_dir = tmp_path / 'work'
    call_main('train', [config, '--work-dir', work_dir, '--cfg-options',
                        'train_cfg.max_iters=4'], tmp_path)
    checkpoint = torch.load(work_dir / 'iter_4.pth', weights_only=False)
    logged = checkpoint['message_hub']['log_scalars']['train/lr'].data[0].tolist()
    # What MMEngine's cosine [1, 4) gives on its own.
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
    cosine = CosineAnnealingLR(optimizer, by_epoch=False, begin=1, end=4,
                               eta_min_ratio=0.05)
    expected = []
    for _ in range(4):
        expected.append(optimizer.param_groups[0]['lr'])
        cosine.step()
    assert logged == pytest.approx(expected, rel=1e-9)
    assert logged[0] == pytest.approx(1e-3) and logged[-1] < 0.3e-3
    assert all(a >= b for a, b in zip(logged, logged[1:]))


def _stub(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/usr/bin/env bash\necho "' + text + ' $*"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize('script', ['dist_train.sh', 'dist_test.sh'])
def test_dist_scripts_use_the_projects_python(script, tmp_path):
    repo = tmp_path / 'repo'
    (repo / 'tools').mkdir(parents=True)
    shutil.copy(osp.join(REPO_ROOT, 'tools', script), repo / 'tools' / script)
    _stub(repo / '.venv' / 'bin' / 'python', 'VENV-PYTHON')
    _stub(tmp_path / 'bin' / 'python3', 'PATH-PYTHON3')
    args = ['cfg.py', '2'] if script == 'dist_train.sh' else ['cfg.py', 'ckpt.pth', '2']
    env = {k: v for k, v in os.environ.items() if k != 'PYTHON'}
    env['PATH'] = f'{tmp_path / "bin"}:/usr/bin:/bin'

    def run(**extra):
        return subprocess.run(['bash', str(repo / 'tools' / script), *args, '--x'],
                              env=dict(env, **extra), capture_output=True, text=True,
                              check=True).stdout

    tool = 'train.py' if script == 'dist_train.sh' else 'test.py'
    launched = f'{repo}/tools/{tool} {" ".join(args[:-1])} --launcher pytorch --x'
    assert run().startswith('VENV-PYTHON -m torch.distributed.run --nnodes=1')
    assert run().strip().endswith(launched)
    shutil.rmtree(repo / '.venv')
    assert run().startswith('PATH-PYTHON3 -m torch.distributed.run')
    _stub(tmp_path / 'mine' / 'py', 'MY-PYTHON')
    assert run(PYTHON=str(tmp_path / 'mine' / 'py')).startswith('MY-PYTHON -m torch')
