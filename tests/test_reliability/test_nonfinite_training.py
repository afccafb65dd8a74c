"""Issue 32: a NaN or inf in training stops it before it reaches the weights or a checkpoint.

A toy regression (outside the package, through ``tools/train.py``) puts a NaN
into one loss term or into the gradients at a chosen iteration, or diverges
with a huge learning rate, or has its weights overwritten with NaN by a hook.
Training stops with :class:`NonFiniteTrainingError` naming the iteration and
the terms or parameters, the weights are those before the bad step, and no
checkpoint with non-finite weights is written or pointed at, and none pruned.
"""
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import CheckpointHook

from mmstvg.engine.hooks import NonFiniteCheckHook, NonFiniteTrainingError

from .conftest import REPO_ROOT, call_main

PLUGIN = 'nonfinite_toy_plugin'
PLUGIN_SOURCE = '''
import torch
import torch.nn as nn
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import BaseModel

from mmstvg.registry import DATASETS, HOOKS, MODELS

INSTANCES = []


@DATASETS.register_module(force=True)
class NonFiniteToyDataset(torch.utils.data.Dataset):

    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(16, 4, generator=generator)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 1.0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return dict(inputs=self.x[index], data_samples=self.y[index])


@MODELS.register_module(force=True)
class NonFiniteToyRegressor(BaseModel):
    """Two loss terms; NaN in ``loss_aux`` or in the gradients at a chosen call."""

    def __init__(self, nan_loss_at=(), nan_grad_at=(), nan_rank=None,
                 data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.linear = nn.Linear(4, 1)
        if nan_rank is not None and nan_rank != get_rank():
            nan_loss_at = nan_grad_at = ()
        self.nan_loss_at, self.nan_grad_at = tuple(nan_loss_at), tuple(nan_grad_at)
        self.calls = 0
        INSTANCES.append(self)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        pred = self.linear(torch.stack(inputs)).squeeze(-1)
        if mode != 'loss':
            return pred
        self.calls += 1
        if self.calls in self.nan_grad_at:
            pred.register_hook(lambda grad: torch.full_like(grad, float('nan')))
        aux = pred.abs().mean() * 0.01
        if self.calls in self.nan_loss_at:
            aux = aux * float('nan')
        return dict(loss_mse=((pred - torch.stack(data_samples)) ** 2).mean(), loss_aux=aux)


@HOOKS.register_module(force=True)
class PoisonWeightsHook(Hook):
    """Overwrites the weights with NaN after iteration ``at`` (a bug outside any step)."""

    priority = 'HIGHEST'

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                runner.model.linear.weight.fill_(float('nan'))
'''

CONFIG = '''
_base_ = [{runtime!r}]
custom_imports = dict(imports=['{module}'], allow_failed_imports=False)
model = dict(type='NonFiniteToyRegressor')
train_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='NonFiniteToyDataset'))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=6)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False, max_keep_ckpts=1),
    logger=dict(type='LoggerHook', interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
{extra}
'''


def write_config(tmp_path, extra='') -> str:
    """The plugin and the 6-iteration toy config in ``tmp_path``."""
    (tmp_path / f'{PLUGIN}.py').write_text(PLUGIN_SOURCE)
    config = tmp_path / 'nonfinite_toy.py'
    config.write_text(CONFIG.format(
        runtime=osp.join(REPO_ROOT, 'configs', '_base_', 'default_runtime.py'),
        module=PLUGIN, extra=extra))
    return config


def train(tmp_path, *options, extra='', flags=()):
    """``tools/train.py`` on the toy with ``flags``, ``--cfg-options`` (and
    ``extra`` config lines); the work dir."""
    config = write_config(tmp_path, extra)
    work_dir = tmp_path / 'work'
    argv = [config, '--work-dir', work_dir, *flags]
    if options:
        argv += ['--cfg-options', *options]
    call_main('train', argv, plugin_dir=tmp_path)
    return work_dir


def state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def trained_model():
    import importlib
    return importlib.import_module(PLUGIN).INSTANCES[-1]


def assert_stopped_after_iter_2(work_dir):
    """iter_2.pth is the last checkpoint, finite, and the live weights equal it."""
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['iter_2.pth']
    assert (work_dir / 'last_checkpoint').read_text().endswith('iter_2.pth')
    saved = state(work_dir / 'iter_2.pth')
    assert all(torch.isfinite(v).all() for v in saved.values())
    for key, value in trained_model().state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_a_nan_loss_term_stops_before_the_step(tmp_path):
    with pytest.raises(NonFiniteTrainingError) as error:
        train(tmp_path, 'model.nan_loss_at=[3]')
    message = str(error.value)
    assert message.startswith('iteration 3 of 6: non-finite loss term(s) loss_aux=nan '
                              '(loss=nan)')
    assert 'loss_mse' not in message
    assert 'Training stopped before the optimizer step' in message
    assert_stopped_after_iter_2(tmp_path / 'work')


@pytest.mark.parametrize('flags', [(), ('--amp', )], ids=['fp32', 'amp'])
def test_nan_gradients_with_a_finite_loss_stop_before_the_step(tmp_path, flags):
    with pytest.raises(NonFiniteTrainingError,
                       match=r'^iteration 3 of 6: non-finite gradients in 2 parameter\(s\): '
                             r'linear.weight, linear.bias \(the loss was finite\)'):
        train(tmp_path, 'model.nan_grad_at=[3]', flags=flags)
    assert_stopped_after_iter_2(tmp_path / 'work')


def test_a_diverging_learning_rate_stops_and_saves_nothing_non_finite(tmp_path):
    with pytest.raises(NonFiniteTrainingError, match='^iteration [2-6] of 6: non-finite'):
        train(tmp_path, 'optim_wrapper.optimizer.lr=1e30')
    work_dir = tmp_path / 'work'
    for path in work_dir.glob('*.pth'):
        assert all(torch.isfinite(v).all() for v in state(path).values()), path
    assert all(torch.isfinite(v).all() for v in trained_model().state_dict().values())


def test_non_finite_weights_are_never_saved_and_nothing_is_pruned(tmp_path):
    """A bug outside the optimizer step (a hook) writes NaN: the checkpoint of
    iteration 4 is refused before ``max_keep_ckpts=1`` would remove iter_2."""
    with pytest.raises(NonFiniteTrainingError,
                       match=r'^before the checkpoint of iteration 4: the model holds '
                             r'non-finite weights \(1 tensor\(s\): linear.weight\)'):
        train(tmp_path, extra="custom_hooks = [dict(type='PoisonWeightsHook', at=4)]")
    work_dir = tmp_path / 'work'
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['iter_2.pth']
    assert (work_dir / 'last_checkpoint').read_text().endswith('iter_2.pth')


def test_skip_skips_and_counts_the_bad_steps(tmp_path):
    work_dir = train(tmp_path, 'model.nan_loss_at=[3]', 'model.nan_grad_at=[5]',
                     'default_hooks.nonfinite_check.action=skip')
    checkpoint = torch.load(work_dir / 'iter_6.pth', map_location='cpu', weights_only=False)
    assert all(torch.isfinite(v).all() for v in checkpoint['state_dict'].values())
    assert checkpoint['message_hub']['runtime_info']['nonfinite_skips'] == 2
    # the counted skips stop the run past max_skips
    again = tmp_path / 'again'
    again.mkdir()
    with pytest.raises(NonFiniteTrainingError, match='more than max_skips=1'):
        train(again, 'model.nan_loss_at=[2,3]', 'default_hooks.nonfinite_check.action=skip',
              'default_hooks.nonfinite_check.max_skips=1')


def test_best_and_explicit_saves_refuse_non_finite_weights():
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.bias.fill_(float('inf'))
    runner = SimpleNamespace(model=model, iter=7,
                             hooks=[CheckpointHook(interval=2, save_best='acc')])
    hook = NonFiniteCheckHook()
    with pytest.raises(NonFiniteTrainingError,
                       match=r'^before the best checkpoint of iteration 7: .*\(1 tensor\(s\): '
                             r'bias\)'):
        hook.after_val_epoch(runner, dict(acc=0.9))
    hook.after_val_epoch(runner, {})  # nothing to save: nothing checked
    with pytest.raises(NonFiniteTrainingError, match='refusing to save .*: bias'):
        hook.before_save_checkpoint(runner, dict(state_dict=model.state_dict()))
    hook.before_save_checkpoint(runner, dict(meta={}))  # DeepSpeed saves its own
    with pytest.raises(ValueError, match="'stop' or 'skip'"):
        NonFiniteCheckHook(action='ignore')


@pytest.mark.parametrize('action', ['stop', 'skip'])
def test_ddp_ranks_agree_on_a_nan_of_one_rank(tmp_path, action):
    """NaN on rank 1 only: both ranks stop (no rank waits forever in an
    all-reduce), or both skip the step and train on."""
    config = write_config(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), OMP_NUM_THREADS='1',
               PYTHON=sys.executable, PORT='29533' if action == 'stop' else '29534')
    proc = subprocess.run(
        ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), str(config), '2',
         '--work-dir', str(tmp_path / 'work'), '--cfg-options', 'model.nan_loss_at=[3]',
         'model.nan_rank=1', f'default_hooks.nonfinite_check.action={action}',
         'train_dataloader.batch_size=2'],
        env=env, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    if action == 'stop':
        assert proc.returncode != 0
        assert ('NonFiniteTrainingError: iteration 3 of 6: non-finite loss term(s) '
                'loss_aux=nan') in output
        assert ('NonFiniteTrainingError: iteration 3 of 6: a non-finite loss on another '
                'rank') in output
        assert sorted(p.name for p in (tmp_path / 'work').glob('*.pth')) == ['iter_2.pth']
    else:
        assert proc.returncode == 0, output[-3000:]
        checkpoint = torch.load(tmp_path / 'work' / 'iter_6.pth', weights_only=False)
        assert checkpoint['message_hub']['runtime_info']['nonfinite_skips'] == 1
        assert all(torch.isfinite(v).all() for v in checkpoint['state_dict'].values())


def test_nonfinite_names_see_through_a_norm_that_overflows_its_dtype():
    """The fused-norm shortcut decides nothing on its own: a finite fp16 tensor
    whose norm overflows fp16 is finite, a NaN anywhere is named, and so is an
    inf in a complex tensor."""
    from mmstvg.engine.hooks.nonfinite_check_hook import nonfinite_tensor_names
    big = torch.full((64,), 60000.0, dtype=torch.float16)  # norm 480000: inf in fp16
    assert nonfinite_tensor_names([('big', big), ('ok', torch.ones(3))]) == []
    nan = torch.ones(5)
    nan[3] = float('nan')
    named = [('a', torch.ones(2)), ('nan', nan), ('b', big), ('skip', 'not a tensor'),
             ('ints', torch.ones(2, dtype=torch.long))]
    assert nonfinite_tensor_names(named) == ['nan']
    inf = torch.ones(2, dtype=torch.complex64)
    inf[0] = complex(float('inf'), 0)
    assert nonfinite_tensor_names([('c', inf), ('n', nan)]) == ['c', 'n']


def _training_configs():
    import glob
    return sorted(
        osp.relpath(path, REPO_ROOT)
        for path in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
        if '_base_' not in path.split(os.sep) and 'data_construction' not in path)


def test_every_training_config_keeps_the_check_before_its_checkpoints():
    """The hook guards a run only if its config has it: every training config
    (the text-box baselines, whose NaN run became ``best_*``, included) keeps
    ``default_hooks.nonfinite_check`` stopping, and it runs before the
    CheckpointHook that saves by interval and as best."""
    from mmengine.config import Config
    from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
    from mmengine.runner.priority import get_priority
    configs = _training_configs()
    assert any('text_boxes' in c for c in configs) and len(configs) > 20
    for name in configs:
        cfg = Config.fromfile(osp.join(REPO_ROOT, name))
        assert cfg.get('train_cfg'), name
        hooks = cfg.default_hooks
        assert hooks.get('nonfinite_check', {}).get('type') == 'NonFiniteCheckHook', name
        assert hooks.nonfinite_check.get('action', 'stop') == 'stop', name
        assert hooks.checkpoint.type == 'CheckpointHook', name
    assert get_priority(NonFiniteCheckHook.priority) < get_priority(
        MMEngineCheckpointHook.priority)
