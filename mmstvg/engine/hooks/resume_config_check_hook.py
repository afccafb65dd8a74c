"""A hook that refuses, or applies, a resume's config changes (ours)."""
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmstvg.engine.resume_check import (Change, ResumeConfigChangedError,
                                        apply_optimizer_changes, format_resume_error,
                                        param_groups, rebuild_schedulers_at_resumed_step,
                                        resume_config_changes, saved_config)
from mmstvg.registry import HOOKS

_WARNING = 30


@HOOKS.register_module()
class ResumeConfigCheckHook(Hook):
    """Compare a resumed checkpoint's config with the run's (:mod:`mmstvg.engine.resume_check`).

    In ``after_load_checkpoint`` of a resume (not of ``load_from``, which
    fine-tunes and may change anything), before the optimizer and scheduler
    states are loaded: a difference in the optimizer, the schedule, the batch
    size, the loop length or the model raises
    :class:`~mmstvg.engine.resume_check.ResumeConfigChangedError`, each key
    with its old and new value. With ``allow_changes`` each change is a
    warning, and in ``before_train`` (the states loaded) the new optimizer
    hyper-parameters go into the param groups and the schedulers are rebuilt
    from the config at the resumed step. ``tools/train.py`` adds it to every
    ``--resume`` (``--resume-with-changes`` sets ``allow_changes``).

    Args:
        allow_changes: apply the changes (said) instead of refusing them.
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_changes: bool = False):
        self.allow_changes = allow_changes
        self._changes: Optional[List[Change]] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return
        source = str(runner._load_from or 'the checkpoint')
        saved = saved_config(checkpoint)
        if saved is None:
            print_log(f'--resume {source}: the checkpoint holds no readable config '
                      "(meta['cfg']); whether this run changes its optimizer, schedule, "
                      'batch size or model cannot be checked.', logger='current',
                      level=_WARNING)
            return
        changes = resume_config_changes(saved, runner.cfg)
        if not changes:
            return
        type_changed = any(key == 'optim_wrapper.optimizer.type' for key, _, _ in changes)
        if not self.allow_changes or type_changed:
            raise ResumeConfigChangedError(format_resume_error(changes, source))
        for key, old, new in changes:
            print_log(f'--resume-with-changes: {key}: {old!r} (checkpoint) -> {new!r} '
                      '(this run)', logger='current', level=_WARNING)
        self._changes = changes

    def before_train(self, runner) -> None:
        if not self._changes:
            return
        applied = apply_optimizer_changes(runner.optim_wrapper, self._changes)
        schedule_changed = any(key.startswith('param_scheduler') for key, _, _ in self._changes)
        self._changes = None
        if not (applied or schedule_changed):
            return  # batch size, loop length, model: the config's already
        rebuild_schedulers_at_resumed_step(runner)
        lrs = sorted({group['lr'] for group in param_groups(runner.optim_wrapper)})
        print_log('--resume-with-changes: applied to the resumed optimizer: '
                  + ('; '.join(applied) or 'nothing') + '; the schedule is the config\'s '
                  f'at iteration {runner.iter}; the learning rate is now '
                  + ', '.join(f'{lr:.6g}' for lr in lrs) + '.', logger='current',
                  level=_WARNING)
