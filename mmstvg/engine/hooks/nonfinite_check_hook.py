"""A hook that keeps NaN and inf out of the weights and the checkpoints (ours).

MMEngine trains on through a non-finite loss or gradient: the optimizer step
writes NaN into the weights, the next checkpoint saves them, ``last_checkpoint``
and ``best_*`` point at it, and ``max_keep_ckpts`` prunes the good ones.
:class:`NonFiniteCheckHook` (in ``configs/_base_/default_runtime.py``'s
``default_hooks``) stops that at the first bad step, before the step changes
any weight, and refuses to save a checkpoint whose weights are not finite.
"""
import functools
import logging
from typing import Iterable, List, Optional, Tuple

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.model import BaseModel

from mmstvg.registry import HOOKS

__all__ = ['NonFiniteCheckHook', 'NonFiniteTrainingError', 'nonfinite_tensor_names']

_MAX_NAMED = 5
_MISSING = object()
_WRAPPER_PREFIXES = ('module.', '_fsdp_wrapped_module.', '_checkpoint_wrapped_module.')
_HINT = ('Lower the learning rate, clip gradients (optim_wrapper.clip_grad), check '
         "the batch's data, or set default_hooks.nonfinite_check.action='skip' to skip "
         'such steps (they are counted).')


class NonFiniteTrainingError(FloatingPointError):
    """A loss, a gradient or the weights about to be saved hold NaN or inf."""


def nonfinite_tensor_names(named_tensors: Iterable[Tuple[str, torch.Tensor]]) -> List[str]:
    """The names of the floating-point tensors that hold a NaN or an inf.

    One fused norm per device first (``torch._foreach_norm``, the pass gradient
    clipping makes): a norm is finite only when every element is, so a finite
    total settles it with one host sync and no per-tensor mask. Only when it is
    not (a NaN, an inf, or a norm that overflowed its dtype) are the tensors
    checked one by one for their names.

    Args:
        named_tensors: ``(name, tensor)`` pairs; other values are ignored.

    Returns:
        The names, in the order given.
    """
    by_device = {}
    for index, (name, tensor) in enumerate(named_tensors):
        if (isinstance(tensor, torch.Tensor) and tensor.numel()
                and (tensor.is_floating_point() or tensor.is_complex())):
            entries, tensors = by_device.setdefault(tensor.device, ([], []))
            entries.append((index, name))
            tensors.append(tensor.detach())
    bad = []
    for entries, tensors in by_device.values():
        real = [t for t in tensors if not t.is_complex()]
        if len(real) == len(tensors):
            total = torch.stack([n.float() for n in torch._foreach_norm(real)]).sum()
            if bool(torch.isfinite(total)):
                continue
        finite = torch.stack([torch.isfinite(t).all() for t in tensors]).cpu().tolist()
        bad += [entry for entry, ok in zip(entries, finite) if not ok]
    return [name for _, name in sorted(bad)]


def _named(names: List[str]) -> str:
    more = f' (+{len(names) - _MAX_NAMED} more)' if len(names) > _MAX_NAMED else ''
    return ', '.join(names[:_MAX_NAMED]) + more


def _display(name: str) -> str:
    for prefix in _WRAPPER_PREFIXES:
        name = name.replace(prefix, '')
    return name


def _on_any_rank(flag: bool) -> bool:
    """``flag`` or'ed over the ranks, so that every rank takes the same branch."""
    if get_world_size() == 1:
        return flag
    value = torch.tensor([float(flag)])
    all_reduce(value, op='sum')
    return bool(value.item() > 0)


def _base_model(model) -> Optional[BaseModel]:
    """The ``BaseModel`` inside DDP, FSDP or DeepSpeed's wrappers (None if none)."""
    for _ in range(4):
        if isinstance(model, BaseModel):
            return model
        inner = getattr(model, 'module', None)
        model = inner if inner is not None else getattr(model, 'model', None)
    return None


@HOOKS.register_module()
class NonFiniteCheckHook(Hook):
    """Stop (or skip) a step whose loss or gradients are not finite.

    Before each step's backward pass the loss is checked (the model's
    ``parse_losses``), and before the optimizer applies the gradients they
    are checked (the optimizer's ``step``; with fp16 loss scaling the
    scaler skips overflowing steps first, so only real NaN/inf remain). The
    ranks agree on the outcome. With ``action='stop'`` a
    :class:`NonFiniteTrainingError` names the iteration and the loss terms or
    parameters, and the weights stay those of the previous iteration; with
    ``'skip'`` the step is skipped, counted (``nonfinite_skips`` in the
    message hub, saved with checkpoints) and said, up to ``max_skips``.

    Whatever the action, a checkpoint is never written with non-finite
    weights: when a :class:`~mmengine.hooks.CheckpointHook` is about to save
    (by interval or as ``best``), the model is checked first, before that
    hook prunes older checkpoints, and ``before_save_checkpoint`` checks the
    checkpoint's ``state_dict``. Under DeepSpeed the loss is checked but the
    gradients are left to DeepSpeed's own optimizer.

    Args:
        action: ``'stop'`` (default) or ``'skip'``.
        check_grads: check the gradients before each optimizer step.
        max_skips: with ``'skip'``, stop once more steps than this were
            skipped in the run (None: no limit).
    """

    priority = 'LOW'  # after LoggerHook (BELOW_NORMAL), before CheckpointHook (VERY_LOW)

    def __init__(self, action: str = 'stop', check_grads: bool = True,
                 max_skips: Optional[int] = 20):
        if action not in ('stop', 'skip'):
            raise ValueError("NonFiniteCheckHook: action must be 'stop' or 'skip', "
                             f'not {action!r}.')
        self.action = action
        self.check_grads = check_grads
        self.max_skips = max_skips
        self._patched = []
        self._skip_update = False
        self._runner = None

    # ------------------------------------------------------------ set-up
    def before_train(self, runner) -> None:
        self._restore()
        self._runner = runner
        self._skip_update = False
        model = _base_model(runner.model)
        if model is None:
            print_log('NonFiniteCheckHook: no BaseModel found in the runner\'s model; '
                      'losses are not checked.', logger='current', level=logging.WARNING)
        else:
            self._patch(model, 'parse_losses', self._guard_losses)
        wrappers = self._optim_wrappers(runner)
        if self.action == 'skip':
            for wrapper in wrappers:
                self._patch(wrapper, 'update_params', self._guard_update)
        if self.check_grads:
            names = {id(p): _display(n) for n, p in runner.model.named_parameters()}
            for wrapper in wrappers:
                if type(wrapper).__name__ != 'DeepSpeedOptimWrapper':
                    self._patch(wrapper.optimizer, 'step', functools.partial(
                        self._guard_step, optimizer=wrapper.optimizer, names=names))

    def after_train(self, runner) -> None:
        self._restore()

    @staticmethod
    def _optim_wrappers(runner) -> list:
        wrapper = getattr(runner, 'optim_wrapper', None)
        if wrapper is None or isinstance(wrapper, dict):
            return []
        if hasattr(wrapper, 'optim_wrappers'):  # OptimWrapperDict
            return list(wrapper.optim_wrappers.values())
        return [wrapper]

    def _patch(self, obj, name: str, guard) -> None:
        self._patched.append((obj, name, obj.__dict__.get(name, _MISSING)))
        setattr(obj, name, guard(getattr(obj, name)))

    def _restore(self) -> None:
        for obj, name, previous in reversed(self._patched):
            if previous is _MISSING:
                obj.__dict__.pop(name, None)
            else:
                setattr(obj, name, previous)
        self._patched = []

    # ------------------------------------------------------------ the guards
    def _where(self) -> str:
        runner = self._runner
        return f'iteration {runner.iter + 1} of {runner.max_iters}'

    def _handle(self, problem: str) -> None:
        """Raise (``'stop'``), or count and say the skip (``'skip'``)."""
        runner = self._runner
        if self.action == 'stop':
            raise NonFiniteTrainingError(
                f'{problem}. Training stopped before the optimizer step, so the weights '
                'are those of the previous iteration and no checkpoint holds non-finite '
                f'values. {_HINT}')
        skipped = int(runner.message_hub.get_info('nonfinite_skips', 0)) + 1
        runner.message_hub.update_info('nonfinite_skips', skipped)
        if self.max_skips is not None and skipped > self.max_skips:
            raise NonFiniteTrainingError(
                f'{problem}; {skipped} steps were skipped in this run, more than '
                f'max_skips={self.max_skips}: training stopped (the weights are those '
                'of the last finite step).')
        print_log(f'{problem}: the step is skipped ({skipped} skipped so far).',
                  logger='current', level=logging.WARNING)

    def _guard_losses(self, parse_losses):
        def guarded(losses):
            loss, log_vars = parse_losses(losses)
            bad = not bool(torch.isfinite(loss.detach()).all())
            if _on_any_rank(bad):
                terms = [f'{k}={v.detach().float().mean().item():.4g}'
                         for k, v in log_vars.items() if k != 'loss'
                         and isinstance(v, torch.Tensor) and not torch.isfinite(v).all()]
                said = (f"non-finite loss term(s) {', '.join(terms)} (loss="
                        f'{loss.detach().float().mean().item():.4g})' if bad
                        else 'a non-finite loss on another rank')
                self._handle(f'{self._where()}: {said}')
                self._skip_update = True
            return loss, log_vars
        return guarded

    def _guard_update(self, update_params):
        def guarded(loss, *args, **kwargs):
            if self._skip_update:
                self._skip_update = False  # no backward, no step, for this batch
                return None
            return update_params(loss, *args, **kwargs)
        return guarded

    def _guard_step(self, step, optimizer, names: dict):
        def guarded(*args, **kwargs):
            grads = [(names.get(id(p), f'param#{i}'), p.grad)
                     for group in optimizer.param_groups
                     for i, p in enumerate(group['params']) if p.grad is not None]
            bad = nonfinite_tensor_names(grads)
            if _on_any_rank(bool(bad)):
                said = (f'non-finite gradients in {len(bad)} parameter(s): {_named(bad)}'
                        if bad else 'non-finite gradients on another rank')
                self._handle(f'{self._where()}: {said} (the loss was finite)')
                return None
            return step(*args, **kwargs)
        return guarded

    # ------------------------------------------------------------ checkpoints
    @staticmethod
    def _checkpoint_hooks(runner) -> list:
        return [h for h in getattr(runner, 'hooks', []) if isinstance(h, CheckpointHook)]

    def _check_model(self, runner, when: str) -> None:
        model = runner.model
        named = list(model.named_parameters()) + list(model.named_buffers())
        bad = [_display(n) for n in nonfinite_tensor_names(named)]
        if _on_any_rank(bool(bad)):
            raise NonFiniteTrainingError(
                f'{when}: the model holds non-finite weights ({len(bad)} tensor(s): '
                f'{_named(bad) or "on another rank"}): the checkpoint is not saved and '
                'no earlier one is removed (last_checkpoint and best_* keep pointing at '
                f'finite ones). {_HINT}')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if any(not h.by_epoch and (
                h.every_n_train_iters(runner, h.interval, h.save_begin)
                or (h.save_last and h.is_last_train_iter(runner)))
               for h in self._checkpoint_hooks(runner)):
            self._check_model(runner, f'before the checkpoint of iteration {runner.iter + 1}')

    def after_train_epoch(self, runner) -> None:
        if any(h.by_epoch and (
                h.every_n_epochs(runner, h.interval, h.save_begin)
                or (h.save_last and h.is_last_train_epoch(runner)))
               for h in self._checkpoint_hooks(runner)):
            self._check_model(runner, f'before the checkpoint of epoch {runner.epoch + 1}')

    def after_val_epoch(self, runner, metrics=None) -> None:
        if metrics and any(h.save_best for h in self._checkpoint_hooks(runner)):
            self._check_model(runner, f'before the best checkpoint of iteration {runner.iter}')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict')
        if not isinstance(state, dict):
            return  # a strategy (DeepSpeed) saves the weights itself
        bad = nonfinite_tensor_names(state.items())
        if bad:
            raise NonFiniteTrainingError(
                f'refusing to save a checkpoint with non-finite weights '
                f'({len(bad)} tensor(s): {_named(bad)}) at iteration {runner.iter}. '
                + _HINT)
