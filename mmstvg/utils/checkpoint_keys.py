"""Check that a checkpoint's weights fit the model they are loaded into.

MMEngine loads checkpoints with ``strict=False`` and only logs missing and
unexpected keys, so a checkpoint of another architecture (an MLP box head's
into a QGSD config) or a half-saved model is evaluated with random parts and
nothing fails. :func:`check_checkpoint_fits_model` turns that into an error
(ours, not the paper's). One exception is tolerated, and said once: frozen
parts that training never touched (a frozen pretrained vision tower that a
DeepSpeed ``exclude_frozen_parameters`` checkpoint leaves out) may be absent;
they keep the weights the model was built with.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from mmengine.logging import print_log

if TYPE_CHECKING:  # annotations only: importing mmstvg.utils needs no torch
    import torch
    from torch import nn

__all__ = ['CheckpointMismatchError', 'check_checkpoint_fits_model',
           'check_checkpoint_loads_something', 'checkpoint_state_dict',
           'frozen_state_keys', 'load_fitting_checkpoint']

_REVISE_KEYS = ((r'^module\.', ''), )
_MAX_NAMED = 5


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's keys or shapes do not match the model's trained parts."""


def checkpoint_state_dict(checkpoint: Mapping,
                          revise_keys: Sequence[Tuple[str, str]] = _REVISE_KEYS
                          ) -> Dict[str, torch.Tensor]:
    """The model weights in a loaded checkpoint, keys revised as MMEngine does.

    Args:
        checkpoint: a loaded checkpoint (``{'state_dict': ...}`` or a bare
            state dict).
        revise_keys: ``(pattern, replacement)`` pairs applied to every key
            (MMEngine strips a DDP ``module.`` prefix).

    Returns:
        An ordered ``{key: tensor}``.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    revised = OrderedDict()
    for key, value in state_dict.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    return revised


def frozen_state_keys(model: nn.Module) -> set:
    """State-dict keys that training never changes.

    A parameter counts when ``requires_grad`` is False; a buffer when the
    top-level part holding it (``vision_encoder``...) has no trainable
    parameter.
    """
    frozen = {name for name, param in model.named_parameters() if not param.requires_grad}
    trainable_parts = {name.split('.')[0] for name, param in model.named_parameters()
                       if param.requires_grad}
    for name, _ in model.named_buffers():
        if name.split('.')[0] not in trainable_parts:
            frozen.add(name)
    return frozen


def _parts(keys: Iterable[str]) -> List[str]:
    return sorted({key.split('.')[0] for key in keys})


def _named(keys: Sequence[str]) -> str:
    keys = sorted(keys)
    more = f' (+{len(keys) - _MAX_NAMED} more)' if len(keys) > _MAX_NAMED else ''
    return ', '.join(keys[:_MAX_NAMED]) + more


def _loads_nothing(checkpoint: Mapping, expected: Mapping, source: str) -> str:
    """The message for a checkpoint none of whose keys is a key of the model."""
    message = (f"{source} holds none of the model's {len(expected)} tensors: MMEngine "
               "reads the weights from its 'state_dict' or from its top level "
               f'(top-level keys: {_named([str(k) for k in checkpoint])}), and would load '
               'nothing: the model would keep the weights it was built with.')
    for key, value in checkpoint.items():
        if isinstance(value, Mapping) and any(
                k in expected for k in checkpoint_state_dict(dict(state_dict=value))):
            return (message + f" The model's weights seem to be under {key!r}: re-save "
                    f"the file as {{'state_dict': checkpoint[{key!r}]}}.")
    return message + ' Is it a checkpoint of this model at all?'


def check_checkpoint_fits_model(model: nn.Module, checkpoint: Mapping, source: str,
                                logger: Optional[str] = 'current') -> Dict[str, list]:
    """Raise unless every trained tensor of ``model`` is in ``checkpoint`` with its shape.

    Args:
        model: the model the weights go into (unwrapped).
        checkpoint: the loaded checkpoint.
        source: what to name in messages (the file path).
        logger: where the one line about tolerated frozen keys goes.

    Returns:
        ``{'frozen_missing': [keys]}``: the frozen keys that were absent.

    Raises:
        CheckpointMismatchError: on unexpected keys, missing trained keys or
            shape mismatches; the message names the file, the parts and the
            first keys of each kind (or, when no key is the model's, the
            file's top-level keys and where the weights seem to be).
    """
    state_dict = checkpoint_state_dict(checkpoint)
    expected = model.state_dict()
    frozen = frozen_state_keys(model)
    unexpected = [k for k in state_dict if k not in expected]
    missing = [k for k in expected if k not in state_dict]
    missing_trained = [k for k in missing if k not in frozen]
    frozen_missing = [k for k in missing if k in frozen]
    mismatched = [
        f'{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}'
        for k, v in expected.items()
        if k in state_dict and hasattr(state_dict[k], 'shape')
        and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    if missing_trained and len(missing) == len(expected):
        raise CheckpointMismatchError(_loads_nothing(checkpoint, expected, source))
    problems = []
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected key(s) in parts '
                        f'{_parts(unexpected)}: {_named(unexpected)}')
    if missing_trained:
        problems.append(f'{len(missing_trained)} trained key(s) of the model missing, in '
                        f'parts {_parts(missing_trained)}: {_named(missing_trained)}')
    if mismatched:
        problems.append(f'{len(mismatched)} shape mismatch(es) (checkpoint vs model): '
                        f'{_named(mismatched)}')
    if problems:
        raise CheckpointMismatchError(
            f'{source} does not fit the model built from the config: '
            + '; '.join(problems) + '. Is it a checkpoint of another config or '
            'architecture (e.g. another space decoder)? Nothing was loaded.')
    if frozen_missing:
        print_log(f'{source}: {len(frozen_missing)} frozen tensor(s) of parts '
                  f'{_parts(frozen_missing)} are not in the checkpoint; they keep the '
                  'weights the model was built with (its pretrained ones).',
                  logger=logger)
    return dict(frozen_missing=frozen_missing)


def check_checkpoint_loads_something(model: nn.Module, checkpoint: Mapping,
                                     source: str) -> int:
    """Raise when ``checkpoint`` would load none of ``model``'s tensors.

    The lenient check of a fine-tuning ``load_from``: a checkpoint of an
    earlier stage may lack the new parts, or hold parts the model has not,
    and MMEngine then loads what fits. But a file that fits nothing (weights
    nested under another key than ``state_dict``, another architecture
    altogether) would leave every weight as built, and the run would train
    from there without a word.

    Args:
        model: the model the weights go into (unwrapped).
        checkpoint: the loaded checkpoint.
        source: what to name in messages (the file path).

    Returns:
        How many of the model's tensors the file holds with their shape.

    Raises:
        CheckpointMismatchError: naming the file, its top-level keys and
            where the weights seem to be, or the shapes that differ.
    """
    state_dict = checkpoint_state_dict(checkpoint)
    expected = model.state_dict()
    shared = [k for k in expected if k in state_dict]
    fitting = [k for k in shared if not hasattr(state_dict[k], 'shape')
               or tuple(state_dict[k].shape) == tuple(expected[k].shape)]
    if fitting:
        return len(fitting)
    if not shared:
        raise CheckpointMismatchError(_loads_nothing(checkpoint, expected, source))
    mismatched = [f'{k} {tuple(state_dict[k].shape)} vs {tuple(expected[k].shape)}'
                  for k in shared]
    raise CheckpointMismatchError(
        f"{source} holds {len(shared)} of the model's {len(expected)} tensors, every "
        f'one with another shape (checkpoint vs model: {_named(mismatched)}): MMEngine '
        'would load none of them, so training would start from the built weights. '
        'Is it a checkpoint of another config?')


def load_fitting_checkpoint(model: nn.Module, filename: str) -> dict:
    """Load ``filename`` into ``model`` after :func:`check_checkpoint_fits_model`.

    What a script that scores or times a trained model needs instead of
    MMEngine's ``load_checkpoint`` (``strict=False``: a file that fits nothing
    loads nothing, and the figures come from the built weights).

    Args:
        model: the model (unwrapped).
        filename: the checkpoint file.

    Returns:
        The loaded checkpoint.

    Raises:
        CheckpointMismatchError: see :func:`check_checkpoint_fits_model`.
    """
    from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
    checkpoint = _load_checkpoint(filename, map_location='cpu')
    check_checkpoint_fits_model(model, checkpoint, str(filename))
    _load_checkpoint_to_model(model, checkpoint)
    return checkpoint
