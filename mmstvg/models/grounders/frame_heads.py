"""The grounder's per-frame heads: the space decoder, ``heads`` and ``logits_processors``.

:class:`FrameHeadsMixin` builds them and runs them on one LLM pass: their
outputs (:class:`FrameOutputs`), their losses, their predictions and the
logits processor of a batch.

Each entry is a ``MODELS`` config (or a bare type name, so that
``--cfg-options model.heads=[QuerySpanScoreHead]`` works; SpaceVLLM's head,
``projects/spacevllm/spacevllm/addons/query_span_score_head.py``) built with
``hidden_dim`` filled in and added to the grounder under the part's
``module_name`` (its state-dict prefix, e.g. ``frame_score_head``), so that
the lists change no checkpoint key. A head implements ``forward(head_inputs)``
(one :class:`HeadInputs`; its ``query`` is the per-frame state of
``frame_state_source``), ``loss(outs, data_samples)`` and
``predict(outs, data_samples)``, as the space decoder does (its
``forward(head_inputs, return_states=False)``); a logits
processor ``check_answer(answer)`` and ``bind(frames, data_samples, answer)``
(see SpaceVLLM's ``TimeStampPointer``, ``projects/spacevllm/spacevllm/addons/``).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from mmstvg.models.query_interleavers.base import places_queries
from mmstvg.models.space_decoders.base import check_box_output
from mmstvg.models.space_decoders.head_structures import FrameOutputs, HeadInputs
from mmstvg.registry import MODELS, SPACE_DECODERS
from mmstvg.structures import GroundingDataSample

from .decoding import LogitsProcessor
from .multimodal_sequence import gather_head_inputs
from .part_configs import with_default
from .prediction_packing import box_rows

__all__ = ['FrameHeadsMixin', 'add_named_parts', 'chain_processors']


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


class FrameHeadsMixin:
    """The per-frame heads of :class:`VideoGroundingLLM` (its ``space_decoder``,
    ``heads``, ``logits_processors`` and ``frame_state_source`` arguments).

    The grounder calls :meth:`build_frame_heads` once its LLM and query
    interleaver are built; it then needs ``self.answer`` (the answer coders)
    before :meth:`check_processors`.
    """

    FRAME_STATE_SOURCES = ('llm_queries', 'space_decoder')

    def build_frame_heads(self, space_decoder: Optional[dict],
                          heads: Sequence[Union[dict, str]],
                          logits_processors: Sequence[Union[dict, str]],
                          frame_state_source: str, hidden: int) -> None:
        """Build the space decoder and the lists, and check what they read."""
        self.space_decoder = (None if space_decoder is None else SPACE_DECODERS.build(
            with_default(space_decoder, hidden_dim=hidden)))
        self.head_names = add_named_parts(self, heads, 'heads', hidden)
        self.processor_names = add_named_parts(self, logits_processors,
                                               'logits_processors', hidden)
        readers = ['space_decoder'] * (self.space_decoder is not None) + \
            self.head_names + self.processor_names
        if readers and not places_queries(self.query_interleaver):
            raise ValueError(f'a {readers[0]} reads query states: give a '
                             'query_interleaver that places queries')
        if frame_state_source not in self.FRAME_STATE_SOURCES:
            raise ValueError(f'frame_state_source must be one of {self.FRAME_STATE_SOURCES}, '
                             f'got {frame_state_source!r}')
        if frame_state_source == 'space_decoder' and self.space_decoder is None:
            raise ValueError("frame_state_source='space_decoder' needs a space_decoder")
        self.frame_state_source = frame_state_source

    def check_processors(self) -> None:
        """Each logits processor checks the answer it acts on, and the heads it
        reads (``check_heads(head_names)``, where it has one)."""
        for _, processor in self._parts(self.processor_names):
            processor.check_answer(self.answer)
            if hasattr(processor, 'check_heads'):
                processor.check_heads([name for name, _ in self._parts(self.head_names)])

    def decode_frames(self, hidden: torch.Tensor, layouts, data_samples) -> FrameOutputs:
        """The heads' per-frame outputs (:class:`FrameOutputs`): the space
        decoder's boxes, the per-frame states of ``frame_state_source`` and
        each head's output on them."""
        frames = FrameOutputs(num_frames=[l.num_frames for l in layouts])
        if self.space_decoder is None and not self.head_names and not self.processor_names:
            return frames
        inputs = self.head_inputs(hidden, layouts)
        frames.states = inputs.query
        if self.space_decoder is not None:
            if self.frame_state_source == 'space_decoder':
                frames.boxes, frames.states = self.space_decoder(inputs, return_states=True)
            else:
                frames.boxes = self.space_decoder(inputs)
            self._check_boxes(frames.boxes, layouts)
        head_inputs = inputs._replace(query=frames.states)
        for name, head in self._parts(self.head_names):
            frames.head_outs[name] = head(head_inputs)
        return frames

    def _parts(self, names: Sequence[str]) -> List[Tuple[str, nn.Module]]:
        """The named parts that are set (a part set to None is left out)."""
        return [(name, getattr(self, name)) for name in names
                if getattr(self, name) is not None]

    @staticmethod
    def head_inputs(hidden: torch.Tensor, layouts) -> HeadInputs:
        """:func:`gather_head_inputs`' states with each video's token grid
        (``layout.frame_grid``) when every layout knows it, so that reference
        points lie on Qwen-VL's non-square per-video grids."""
        grids = [layout.frame_grid for layout in layouts]
        inputs = gather_head_inputs(hidden, layouts)
        if all(grid is not None for grid in grids):
            inputs = inputs._replace(frame_grids=grids)
        return inputs

    def _check_boxes(self, boxes: torch.Tensor, layouts) -> None:
        """The space decoder's output contract (see :func:`check_box_output`)."""
        check_box_output(boxes, len(layouts), max(l.num_frames for l in layouts),
                         type(self.space_decoder).__name__)

    def logits_processor(self, frames: FrameOutputs, layouts,
                         data_samples) -> Optional[LogitsProcessor]:
        """The configured ``logits_processors`` bound to this batch, in order
        (see :mod:`.decoding`); None without any."""
        return chain_processors([processor.bind(frames, data_samples, self.answer)
                                 for _, processor in self._parts(self.processor_names)])

    def head_outputs(self, frames: FrameOutputs) -> List[Tuple[nn.Module, torch.Tensor]]:
        """Each head with its output in ``frames``, in the order they predict:
        the space decoder (its boxes), then ``heads`` (which may score them)."""
        pairs = [] if frames.boxes is None else [(self.space_decoder, frames.boxes)]
        return pairs + [(head, frames.head_outs[name])
                        for name, head in self._parts(self.head_names)]

    def head_losses(self, frames: FrameOutputs, data_samples) -> Dict[str, torch.Tensor]:
        """The heads' own losses on their outputs (each head's ``loss``)."""
        losses = {}
        for head, outs in self.head_outputs(frames):
            losses.update(head.loss(outs, data_samples))
        return losses

    def predict_heads(self, frames: FrameOutputs,
                      data_samples: Sequence[GroundingDataSample]) -> None:
        """Each head's ``predict`` on the samples whose prediction holds boxes
        (after the answers are packed: the boxes' mask reads the span)."""
        rows = box_rows(data_samples, self.answer)
        if not rows:
            return
        samples = [data_samples[b] for b in rows]
        for head, outs in self.head_outputs(frames):
            head.predict(outs[rows], samples)
