"""The grounder's configured lists: per-frame ``heads`` and ``logits_processors``.

Each entry is a ``MODELS`` config (or a bare type name, so that
``--cfg-options model.heads=[QuerySpanScoreHead]`` works) built with
``hidden_dim`` filled in and added to the grounder under the part's
``module_name`` (its state-dict prefix, e.g. ``frame_score_head``), so that
the lists change no checkpoint key. A head implements ``forward(states)``,
``loss(outs, data_samples)`` and ``predict(outs, data_samples)``; a logits
processor ``check_answer(answer)`` and ``bind(frames, data_samples, answer)``
(see :class:`TimeStampPointer`).
"""
from typing import List, Optional, Sequence, Union

import torch.nn as nn

from mmstvg.registry import MODELS

from .decoding import LogitsProcessor
from .part_configs import with_default

__all__ = ['add_named_parts', 'chain_processors']


def add_named_parts(model: nn.Module, configs: Sequence[Union[dict, str]], kind: str,
                    hidden_dim: int) -> List[str]:
    """Build each config and add it to ``model`` under its part's name.

    Args:
        model: the grounder.
        configs: the list (``heads`` or ``logits_processors``).
        kind: the list's name, for the default names (``f'{kind}_{i}'``, for a
            part without ``module_name``) and the messages.
        hidden_dim: the LLM's hidden size (``hidden_dim`` unless given).

    Returns:
        The names the parts were added under, in the list's order.
    """
    names = []
    for i, cfg in enumerate(configs or ()):
        cfg = dict(type=cfg) if isinstance(cfg, str) else cfg
        part = MODELS.build(with_default(cfg, hidden_dim=hidden_dim))
        name = getattr(part, 'module_name', None) or f'{kind}_{i}'
        if hasattr(model, name):
            raise ValueError(f'{kind}[{i}] ({type(part).__name__}) would be the '
                             f'grounder\'s {name!r}, which it already has')
        model.add_module(name, part)
        names.append(name)
    return names


def chain_processors(processors: Sequence[LogitsProcessor]) -> Optional[LogitsProcessor]:
    """One logits processor applying ``processors`` in order (None: none)."""
    if not processors:
        return None
    if len(processors) == 1:
        return processors[0]

    def chained(logits, states, rows):
        for processor in processors:
            logits = processor(logits, states, rows)
        return logits

    return chained
