"""A resume that changes the optimizer, the schedule, the batch or the model (ours).

MMEngine's resume loads the checkpoint's optimizer state (its param groups:
``lr``, ``weight_decay``, ``betas``) and the schedulers' state (``begin``,
``end``, base values) over what the current config built: a new learning
rate or schedule is dropped without a word, and a new batch size or model
setting is taken silently. Here a resume compares the config the checkpoint
was trained with (``meta['cfg']``, the config text MMEngine saves in every
checkpoint) with the current one on :data:`RESUME_CHECKED_KEYS`:

- any difference is a :class:`ResumeConfigChangedError` that lists each key
  with its old and new value and says how to go on (the old values back with
  ``--cfg-options``, or a new run that fine-tunes with ``load_from``);
- with the opt-in (``tools/train.py --resume-with-changes``, or
  ``resume_allow_changes = True`` in the config) each change is a warning and
  the new values are applied: the optimizer's hyper-parameters go into its
  param groups (a number scaled by new / old in each group, which keeps
  per-group multipliers), and the schedulers are rebuilt from the current
  config and stepped to the resumed iteration, so the learning rate is the
  one the new settings give at that step. Batch size, loop length and model
  come from the current config anyway. An optimizer of another type cannot
  take the saved state: that stays an error.

A relative path and the absolute path it was re-rooted to
(:mod:`mmstvg.utils.repo_paths`, a run started from another directory) are
the same value. :class:`~mmstvg.engine.hooks.ResumeConfigCheckHook` runs
this; ``tools/train.py`` adds it to every resume.
"""
import os
import os.path as osp
import shlex
import tempfile
import warnings
from numbers import Number
from typing import Any, Dict, List, Optional, Tuple

from mmengine.config import Config

from mmstvg.utils.repo_paths import repository_root

__all__ = ['RESUME_CHECKED_KEYS', 'ResumeConfigChangedError', 'Change', 'saved_config',
           'resume_config_changes', 'format_resume_error', 'add_resume_config_check',
           'apply_optimizer_changes', 'rebuild_schedulers_at_resumed_step', 'param_groups']

#: What a resumed run keeps: config keys, dotted (a list's items by index).
RESUME_CHECKED_KEYS = ('optim_wrapper.optimizer', 'optim_wrapper.accumulative_counts',
                       'param_scheduler', 'train_dataloader.batch_size',
                       'train_cfg.max_iters', 'train_cfg.max_epochs', 'model')

#: ``(key, old value, new value)``; a side without the key holds :data:`ABSENT`.
Change = Tuple[str, Any, Any]


class _Absent:

    def __repr__(self) -> str:
        return '(not set)'


ABSENT = _Absent()


class ResumeConfigChangedError(RuntimeError):
    """The config of a resumed run differs from its checkpoint's."""


def _config_from_text(text: str) -> Config:
    """A config from its Python text, without importing its ``custom_imports``."""
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as file:
        file.write(text)
    try:
        return Config.fromfile(file.name, import_custom_modules=False)
    finally:
        os.remove(file.name)


def saved_config(checkpoint: dict) -> Optional[Config]:
    """The config a checkpoint was trained with (``meta['cfg']``), or None
    when it holds none (or one that cannot be read)."""
    text = (checkpoint.get('meta') or {}).get('cfg')
    if not isinstance(text, str):
        return None
    try:
        return _config_from_text(text)
    except Exception:  # an old or hand-made checkpoint: nothing to compare
        return None


def _flatten(value: Any, key: str, out: Dict[str, Any]) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _flatten(item, f'{key}.{name}', out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f'{key}.{index}', out)
    else:
        out[key] = value


def _checked_values(cfg: Config) -> Dict[str, Any]:
    """The leaves of :data:`RESUME_CHECKED_KEYS` of a config, by dotted key."""
    plain = cfg.to_dict()
    out: Dict[str, Any] = {}
    for key in RESUME_CHECKED_KEYS:
        value = plain
        for part in key.split('.'):
            value = value.get(part, ABSENT) if isinstance(value, dict) else ABSENT
        if value is not ABSENT:
            _flatten(value, key, out)
    return out


def _same(old: Any, new: Any) -> bool:
    if old == new:
        return True
    if isinstance(old, str) and isinstance(new, str):
        root = repository_root()  # a path re-rooted in one of the two runs
        if root is not None and osp.isabs(old) != osp.isabs(new):
            relative, absolute = (new, old) if osp.isabs(old) else (old, new)
            return osp.normpath(osp.join(root, relative)) == osp.normpath(absolute)
    return False


def resume_config_changes(saved: Config, current: Config) -> List[Change]:
    """The checked keys whose values differ between two configs.

    Args:
        saved: the config the checkpoint was trained with.
        current: the config of the run that resumes it.

    Returns:
        ``[(dotted key, old, new), ...]`` in key order; :data:`ABSENT` where
        a side lacks the key.
    """
    # Both through the same text round trip (tuples, floats as MMEngine saves them).
    old = _checked_values(saved)
    try:
        new = _checked_values(_config_from_text(current.pretty_text))
    except Exception:  # a value its text cannot give back: compared as it is
        new = _checked_values(current)
    return [(key, old.get(key, ABSENT), new.get(key, ABSENT))
            for key in sorted(set(old) | set(new))
            if not _same(old.get(key, ABSENT), new.get(key, ABSENT))]


def _option(key: str, value: Any) -> str:
    """``key=value`` as ``--cfg-options`` reads it, quoted for a shell."""
    if isinstance(value, (list, tuple)):
        text = ', '.join(repr(v) if isinstance(v, str) else str(v) for v in value)
        text = f'({text})' if isinstance(value, tuple) else f'[{text}]'
    else:
        text = str(value)
    return shlex.quote(f'{key}={text}')


def format_resume_error(changes: List[Change], checkpoint: str) -> str:
    """The error for a resume whose config changed: each key, old -> new, and the ways on."""
    lines = [f'--resume {checkpoint}: this run\'s config differs from the one the '
             'checkpoint was trained with. A resume loads the checkpoint\'s optimizer and '
             'schedule state over the new values (they would be dropped silently) and '
             'takes a new batch size or model setting without a word:']
    lines += [f'  {key}: {old!r} -> {new!r}' for key, old, new in changes]
    back = [_option(key, old) for key, old, _ in changes if old is not ABSENT]
    unset = [key for key, old, _ in changes if old is ABSENT]
    lines.append('To go on, either:')
    if back or unset:
        lines.append('  - resume with the old values: --cfg-options ' + ' '.join(back)
                     + (f' (and remove {", ".join(unset)})' if unset else ''))
    lines.append(f'  - or start a new run that fine-tunes from these weights: '
                 f'--cfg-options load_from={shlex.quote(checkpoint)} without --resume '
                 '(fresh optimizer, schedule and iteration count)')
    if not any(key == 'optim_wrapper.optimizer.type' for key, _, _ in changes):
        lines.append('  - or resume with the new values applied (the new learning rate '
                     'and schedule taking over at the resumed iteration): '
                     '--resume-with-changes (or resume_allow_changes = True in the config)')
    else:
        lines.append('  (the optimizer type cannot change on a resume: the saved state is '
                     'the old optimizer\'s)')
    return '\n'.join(lines)


def add_resume_config_check(cfg: Config, allow_changes: bool = False) -> Config:
    """Add a :class:`~mmstvg.engine.hooks.ResumeConfigCheckHook` to a resumed run.

    Args:
        cfg: the full config, ``resume`` set; changed in place.
        allow_changes: ``--resume-with-changes``; a config's
            ``resume_allow_changes = True`` does the same.

    Returns:
        The config.
    """
    if not cfg.get('resume', False):
        return cfg
    allow = bool(allow_changes or cfg.get('resume_allow_changes', False))
    hooks = [h for h in (cfg.get('custom_hooks', None) or [])
             if h.get('type') not in ('ResumeConfigCheckHook', 'mmstvg.ResumeConfigCheckHook')]
    hooks.append(dict(type='ResumeConfigCheckHook', allow_changes=allow))
    cfg.custom_hooks = hooks
    return cfg


def param_groups(optim_wrapper) -> List[dict]:
    """Every param group of an optim wrapper (or of each in an ``OptimWrapperDict``)."""
    wrappers = optim_wrapper.values() if hasattr(optim_wrapper, 'values') else [optim_wrapper]
    return [group for wrapper in wrappers for group in wrapper.optimizer.param_groups]


def apply_optimizer_changes(optim_wrapper, changes: List[Change]) -> List[str]:
    """Put changed optimizer hyper-parameters into the resumed param groups.

    A number is scaled by new / old in each group (set where the old one is 0
    or not set), which keeps per-group multipliers (``paramwise_cfg``); the
    scheduled base value (``initial_lr``) follows. Anything else is set.

    Args:
        optim_wrapper: the runner's optim wrapper, its state resumed.
        changes: from :func:`resume_config_changes`.

    Returns:
        One line per applied key.
    """
    prefix = 'optim_wrapper.optimizer.'
    applied = []
    for key, old, new in changes:
        name = key[len(prefix):] if key.startswith(prefix) else None
        if name is None or '.' in name or name == 'type' or new is ABSENT:
            continue
        for group in param_groups(optim_wrapper):
            if name not in group:
                continue
            scale = isinstance(new, Number) and isinstance(old, Number) and old != 0 \
                and not isinstance(new, bool)
            for field in (name, f'initial_{name}'):
                if field in group:
                    group[field] = group[field] * new / old if scale else new
        applied.append(f'{name}: {old!r} -> {new!r}')
    return applied


def rebuild_schedulers_at_resumed_step(runner) -> None:
    """Schedulers built from the current config, stepped to the resumed step.

    Each param group's value is reset to its base (``initial_lr``, which
    :func:`apply_optimizer_changes` scaled) and every scheduler is stepped as
    many times as the hook would have stepped it by now (iterations, or
    epochs for ``by_epoch`` ones): the value is the one the current settings
    give at the resumed step.

    Args:
        runner: the runner, resumed (``iter`` / ``epoch`` set).
    """
    schedule = runner.cfg.get('param_scheduler', None)
    if not schedule:
        return
    for group in param_groups(runner.optim_wrapper):
        for field in [f for f in group if f.startswith('initial_')]:
            group[field[len('initial_'):]] = group[field]
    schedulers = runner.build_param_scheduler(schedule)
    flat = [s for part in (schedulers.values() if isinstance(schedulers, dict)
                           else [schedulers]) for s in part]
    with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()"
        warnings.simplefilter('ignore', UserWarning)
        for by_epoch, steps in ((False, runner.iter), (True, runner.epoch)):
            for _ in range(steps):
                for scheduler in flat:
                    if bool(scheduler.by_epoch) == by_epoch:
                        scheduler.step()
    runner.param_schedulers = schedulers
