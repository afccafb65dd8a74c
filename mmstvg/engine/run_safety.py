"""Checks ``tools/train.py`` and ``tools/test.py`` run before any work starts (ours).

- :func:`resolve_resume`: ``--resume`` picks the newest *intact* checkpoint of
  the work dir (a truncated or corrupt latest one is skipped, and said), says
  when there is nothing to resume, and fails when a named checkpoint does not
  exist or cannot be read.
- :func:`apply_checkpoint_options`: the ``--unsafe-load`` / ``unsafe_load``
  opt-in, and the :class:`~mmstvg.engine.hooks.CheckpointFitCheckHook` that
  makes a checkpoint that does not fit the model an error (for a
  fine-tuning ``load_from``: one that fits none of the model's tensors).
- :func:`check_test_outputs_writable`: ``--out-prefix``, ``--metrics-out``
  and the work dir are writable before inference starts.
"""
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from mmstvg.utils.atomic_io import check_writable, left_over_temporaries
from mmstvg.utils.checkpoint_compat import (CorruptCheckpointError,
                                            allow_unsafe_checkpoint_loading,
                                            checkpoint_integrity_error)

__all__ = ['find_resumable_checkpoint', 'resolve_resume', 'apply_checkpoint_options',
           'check_test_outputs_writable']

_NUMBERED = re.compile(r'^(iter|epoch)_(\d+)\.pth$')
_WARNING = 30


def _log(message: str, level: int = 20) -> None:
    print_log(message, logger='current', level=level)


def _step(path: str) -> int:
    match = _NUMBERED.match(osp.basename(path))
    return int(match.group(2)) if match else -1


def _candidates(work_dir: str) -> List[str]:
    """Resumable checkpoints of a work dir, newest first: the ``last_checkpoint``
    pointer's target and every ``iter_N.pth`` / ``epoch_N.pth`` (not the
    ``best_*`` ones, which MMEngine saves without optimizer state)."""
    paths = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as file:
            target = file.read().strip()
        if target:
            paths.append(target if osp.isabs(target) else osp.join(work_dir, target))
    paths += [osp.join(work_dir, n) for n in os.listdir(work_dir) if _NUMBERED.match(n)]
    unique = {osp.abspath(p): p for p in paths}
    return sorted(unique, key=lambda p: (_step(p), osp.getmtime(p) if osp.exists(p)
                                         else 0.0), reverse=True)


def find_resumable_checkpoint(work_dir: str) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """The newest intact checkpoint of ``work_dir`` and the ones skipped on the way.

    A checkpoint directory (DeepSpeed) is taken as it is; a file must pass
    :func:`~mmstvg.utils.checkpoint_compat.checkpoint_integrity_error`.

    Args:
        work_dir: the training work dir.

    Returns:
        ``(path or None, [(skipped path, reason), ...])``.
    """
    if not osp.isdir(work_dir):
        return None, []
    skipped = []
    for path in _candidates(work_dir):
        if osp.isdir(path):
            return path, skipped
        reason = checkpoint_integrity_error(path)
        if reason is None:
            return path, skipped
        skipped.append((path, reason))
    return None, skipped


def resolve_resume(cfg: Config, resume: Optional[str]) -> Config:
    """Turn ``--resume [PATH]`` into ``cfg.resume`` / ``cfg.load_from``.

    Args:
        cfg: the full config, ``work_dir`` set; changed in place.
        resume: None (no resume), ``'auto'`` (the newest intact checkpoint of
            the work dir) or a checkpoint path.

    Returns:
        The config.

    Raises:
        FileNotFoundError: a named checkpoint does not exist.
        CorruptCheckpointError: a named checkpoint cannot be read.
    """
    if resume is None:
        return cfg
    if resume != 'auto':
        if not osp.exists(resume):
            raise FileNotFoundError(f'--resume {resume}: no such checkpoint.')
        reason = None if osp.isdir(resume) else checkpoint_integrity_error(resume)
        if reason is not None:
            raise CorruptCheckpointError(f'--resume {resume}: cannot resume from it: '
                                         f'{reason}.')
        cfg.resume, cfg.load_from = True, resume
        return cfg
    work_dir = cfg.work_dir
    for temp in left_over_temporaries(work_dir) if osp.isdir(work_dir) else []:
        _log(f'--resume: removing {temp}, the temporary file of a save that was '
             'interrupted (the checkpoint it was writing was never completed).',
             _WARNING)
        try:
            os.remove(temp)
        except FileNotFoundError:  # another rank removed it first
            pass
    path, skipped = find_resumable_checkpoint(work_dir)
    for bad, reason in skipped:
        _log(f'--resume: skipping {bad}: {reason}.', _WARNING)
    if path is None:
        _log(f'--resume: there is no checkpoint to resume in {work_dir}'
             + (f' ({len(skipped)} unreadable one(s) skipped)' if skipped else '')
             + '; training starts from scratch.', _WARNING)
        cfg.resume, cfg.load_from = False, cfg.get('load_from', None)
        return cfg
    _log(f'--resume: resuming from {path}'
         + (f' (the newest intact checkpoint; {len(skipped)} skipped)' if skipped
            else '') + '.')
    cfg.resume, cfg.load_from = True, path
    return cfg


def apply_checkpoint_options(cfg: Config, unsafe_load: bool = False,
                             check_fit: bool = True) -> Config:
    """Set up how checkpoints load for this run.

    Args:
        cfg: the full config; changed in place.
        unsafe_load: the ``--unsafe-load`` flag; a config's top-level
            ``unsafe_load = True`` does the same. Both fully unpickle
            checkpoints (only for trusted files).
        check_fit: add a ``CheckpointFitCheckHook`` to ``custom_hooks``
            (unless one is there). False: add one with ``partial=True``
            when ``cfg.load_from`` is set (fine-tuning: the file may lack
            parts, but must load something).

    Returns:
        The config.
    """
    if unsafe_load or cfg.get('unsafe_load', False):
        allow_unsafe_checkpoint_loading(True)
    if check_fit or cfg.get('load_from', None):
        hooks = list(cfg.get('custom_hooks', None) or [])
        if not any(h.get('type') in ('CheckpointFitCheckHook',
                                     'mmstvg.CheckpointFitCheckHook') for h in hooks):
            hooks.append(dict(type='CheckpointFitCheckHook') if check_fit else
                         dict(type='CheckpointFitCheckHook', partial=True))
        cfg.custom_hooks = hooks
    return cfg


def check_test_outputs_writable(cfg: Config, out_prefix: Optional[str] = None,
                                metrics_out: Optional[str] = None) -> None:
    """Fail before inference when a result could not be written afterwards.

    Args:
        cfg: the config (its ``work_dir`` is checked).
        out_prefix: ``--out-prefix`` (dumps go to ``<prefix>.<metric>.json``).
        metrics_out: ``--metrics-out``.

    Raises:
        PermissionError: naming the option and the path.
    """
    check_writable(cfg.work_dir, '--work-dir', is_dir=True)
    if out_prefix is not None:
        check_writable(out_prefix, '--out-prefix')  # writes <prefix>.<metric>.json
    if metrics_out is not None:
        check_writable(metrics_out, '--metrics-out')
