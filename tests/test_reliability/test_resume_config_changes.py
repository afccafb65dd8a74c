"""A resume that changes the optimizer, the schedule, the batch or the model.

MMEngine loads the checkpoint's optimizer and scheduler states over the
new config's, so a new lr was logged as the old one, and a new batch size or
model setting was taken without a word. Now such a resume fails with each
changed key, its old and new value and the ways on; ``--resume-with-changes``
(or ``resume_allow_changes = True``) logs each change and applies it: the lr
at the resumed iterations is the one an uninterrupted run with the new
settings has there.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmstvg.engine.hooks import resume_config_check_hook
from mmstvg.engine.resume_check import ResumeConfigChangedError, resume_config_changes

from .conftest import REPO_ROOT, call_main, write_toy_training

#: Warm-up then cosine over the toy's 4 iterations (lr 0.05).
SCHEDULE = '''
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=2, end=4)]
'''
#: A new lr and a longer warm-up.
NEW_SETTINGS = ['optim_wrapper.optimizer.lr=0.025', 'param_scheduler.0.end=3']


@pytest.fixture(scope='module')
def scheduled_run(tmp_path_factory):
    """The toy run with a schedule, trained for 4 iterations (``iter_2.pth`` kept)."""
    root = tmp_path_factory.mktemp('scheduled')
    config = write_toy_training(root)
    with open(config, 'a') as file:
        file.write(SCHEDULE)
    call_main('train', [config, '--work-dir', root / 'first'], plugin_dir=root)
    return dict(config=config, plugin_dir=root, first=root / 'first',
                checkpoint=root / 'first' / 'iter_2.pth')


def lr_history(checkpoint) -> list:
    """The logged lr of every iteration so far."""
    hub = torch.load(checkpoint, map_location='cpu', weights_only=False)['message_hub']
    return hub['log_scalars']['train/lr'].data[0].tolist()


def resume(run, work_dir, *extra):
    call_main('train', [run['config'], '--work-dir', work_dir, '--resume', run['checkpoint'],
                        *extra], run['plugin_dir'])


def test_a_resume_with_a_new_lr_schedule_or_batch_size_fails_listing_each(scheduled_run,
                                                                          tmp_path):
    checkpoint = scheduled_run['checkpoint']
    with pytest.raises(ResumeConfigChangedError) as error:
        resume(scheduled_run, tmp_path / 'work', '--cfg-options', *NEW_SETTINGS,
               'train_dataloader.batch_size=8')
    lines = str(error.value).splitlines()
    assert lines[0] == (
        f"--resume {checkpoint}: this run's config differs from the one the checkpoint "
        "was trained with. A resume loads the checkpoint's optimizer and schedule state "
        'over the new values (they would be dropped silently) and takes a new batch size '
        'or model setting without a word:')
    assert lines[1:5] == ['  optim_wrapper.optimizer.lr: 0.05 -> 0.025',
                          '  param_scheduler.0.end: 2 -> 3',
                          '  train_dataloader.batch_size: 4 -> 8',
                          'To go on, either:']
    assert lines[5] == ('  - resume with the old values: --cfg-options '
                        'optim_wrapper.optimizer.lr=0.05 param_scheduler.0.end=2 '
                        'train_dataloader.batch_size=4')
    assert lines[6].startswith(f'  - or start a new run that fine-tunes from these weights: '
                               f'--cfg-options load_from={checkpoint} without --resume')
    assert '--resume-with-changes (or resume_allow_changes = True' in lines[7]
    assert not (tmp_path / 'work' / 'iter_4.pth').exists()  # nothing trained


def test_resume_with_changes_applies_the_new_lr_and_schedule(scheduled_run, tmp_path,
                                                             monkeypatch):
    said = []
    monkeypatch.setattr(resume_config_check_hook, 'print_log',
                        lambda msg, **kw: said.append(msg))
    fresh, resumed = tmp_path / 'fresh', tmp_path / 'resumed'
    call_main('train', [scheduled_run['config'], '--work-dir', fresh, '--cfg-options',
                        *NEW_SETTINGS], scheduled_run['plugin_dir'])
    resume(scheduled_run, resumed, '--resume-with-changes', '--cfg-options', *NEW_SETTINGS)
    old = lr_history(scheduled_run['first'] / 'iter_4.pth')
    new = lr_history(fresh / 'iter_4.pth')
    lrs = lr_history(resumed / 'iter_4.pth')
    assert lrs[:2] == old[:2]  # iterations 1-2: the checkpoint's run
    assert lrs[2:] == pytest.approx(new[2:], rel=1e-9)  # 3-4: the new settings'
    assert new[2:] != pytest.approx(old[2:], rel=1e-3)
    assert said[:2] == [
        '--resume-with-changes: optim_wrapper.optimizer.lr: 0.05 (checkpoint) -> 0.025 '
        '(this run)',
        '--resume-with-changes: param_scheduler.0.end: 2 (checkpoint) -> 3 (this run)']
    assert said[2].startswith('--resume-with-changes: applied to the resumed optimizer: '
                              'lr: 0.05 -> 0.025; the schedule is the config\'s at '
                              'iteration 2; the learning rate is now ')


def test_the_config_opt_in_takes_a_new_batch_size(scheduled_run, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(resume_config_check_hook, 'print_log',
                        lambda msg, **kw: said.append(msg))
    resume(scheduled_run, tmp_path / 'work', '--cfg-options', 'resume_allow_changes=True',
           'train_dataloader.batch_size=8')
    assert said[0] == ('--resume-with-changes: train_dataloader.batch_size: 4 (checkpoint) '
                       '-> 8 (this run)')
    # the lr is the checkpoint run's: nothing of the optimizer changed
    assert lr_history(tmp_path / 'work' / 'iter_4.pth') == \
        lr_history(scheduled_run['first'] / 'iter_4.pth')


def test_another_optimizer_type_is_refused_even_with_the_opt_in(scheduled_run, tmp_path):
    with pytest.raises(ResumeConfigChangedError) as error:
        resume(scheduled_run, tmp_path / 'work', '--resume-with-changes', '--cfg-options',
               'optim_wrapper.optimizer.type=SGD')
    message = str(error.value)
    assert "  optim_wrapper.optimizer.type: 'AdamW' -> 'SGD'" in message
    assert 'the optimizer type cannot change on a resume' in message


def test_model_and_optimizer_settings_are_compared_key_by_key():
    """A new num_heads (same shapes) and new betas are changes; a path re-rooted
    under the repository root (a run started elsewhere) is the same path."""
    relative = 'data/pretrained/toy/llm'

    def config(num_heads, betas, path):
        return Config(dict(
            model=dict(type='Grounder', llm=dict(pretrained=path),
                       space_decoder=dict(type='QGSD', num_heads=num_heads)),
            optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-4, betas=betas)),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=10)))

    saved = config(4, (0.9, 0.999), relative)
    current = config(8, (0.9, 0.95), osp.join(REPO_ROOT, relative))
    assert resume_config_changes(saved, current) == [
        ('model.space_decoder.num_heads', 4, 8),
        ('optim_wrapper.optimizer.betas', (0.9, 0.999), (0.9, 0.95))]
    assert resume_config_changes(saved, saved) == []
