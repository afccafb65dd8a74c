"""The toy's grounder: the paper's model plus a frame score head and a time pointer.

Ours, not the paper's: both heads read one state per frame (the LLM's query
states, or the space decoder's sentence-aware guided queries) and help a
random toy LLM learn *when*; see ``docs/en/model_core.md``.
"""
import inspect
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from mmstvg.models.query_interleavers.base import places_queries
from mmstvg.models.space_decoders.head_structures import FrameOutputs
from mmstvg.registry import MODELS

from .decoding import LogitsProcessor
from .multimodal_sequence import frame_times_and_duration, gather_head_inputs
from .part_configs import with_default
from .video_grounding_llm import VideoGroundingLLM

__all__ = ['SpanAwareGroundingLLM']


@MODELS.register_module()
class SpanAwareGroundingLLM(VideoGroundingLLM):
    """:class:`VideoGroundingLLM` with per-frame span heads (ours, not the paper's).

    Args:
        frame_score_head: config of a head scoring each frame's state
            "inside the span" (e.g. :class:`QuerySpanScoreHead`, ``hidden_dim``
            filled in), trained on every sampled frame (``loss_span_score``);
            its sigmoid is the boxes' ``pred_box_scores``. None: every box
            scores 1.
        time_pointer: config of a logits processor for the answer's times
            (e.g. :class:`TimeStampPointer`, ``hidden_dim`` filled in), in
            training and generation alike; needs an answer part that gives
            each frame boundary's time token (``SnappedSpanAnswer``). An
            answer whose coder is not ``time_pointed`` (a multiple-choice
            letter, a conversation) is left as the LM wrote it (the pointer
            still runs on it, so that every rank calls the same modules, and
            its result is dropped).
        frame_state_source: which per-frame states both heads read:
            ``'llm_queries'`` (the LLM's last-layer query states) or
            ``'space_decoder'`` (the states its boxes are decoded from, e.g.
            the QGSD's guided queries, which know the sentence and the frame
            whatever the prompt order).
        **kwargs: the arguments of :class:`VideoGroundingLLM`.
    """

    PART_NAMES = VideoGroundingLLM.PART_NAMES + ('frame_score_head', 'time_pointer')
    FRAME_STATE_SOURCES = ('llm_queries', 'space_decoder')

    def __init__(self,
                 *args,
                 frame_score_head: Optional[dict] = None,
                 time_pointer: Optional[dict] = None,
                 frame_state_source: str = 'llm_queries',
                 **kwargs):
        super().__init__(*args, **kwargs)
        hidden = self.llm.hidden_size
        self.frame_score_head = (MODELS.build(
            with_default(frame_score_head, hidden_dim=hidden))
                                 if frame_score_head is not None else None)
        self.time_pointer = (MODELS.build(with_default(time_pointer, hidden_dim=hidden))
                             if time_pointer is not None else None)
        # The base froze its own parts; these two are built only now.
        self.freeze([n for n in kwargs.get('freeze_parts', ())
                     if n in ('frame_score_head', 'time_pointer')])
        for name in ('frame_score_head', 'time_pointer'):
            if getattr(self, name) is not None and \
                    not places_queries(self.query_interleaver):
                raise ValueError(f'a {name} reads query states: give a '
                                 'query_interleaver that places queries')
        if frame_state_source not in self.FRAME_STATE_SOURCES:
            raise ValueError(f'frame_state_source must be one of {self.FRAME_STATE_SOURCES}, '
                             f'got {frame_state_source!r}')
        if frame_state_source == 'space_decoder' and self.space_decoder is None:
            raise ValueError("frame_state_source='space_decoder' needs a space_decoder")
        self.frame_state_source = frame_state_source
        # A head whose forward takes no ``return_states`` decodes from the query
        # states themselves (BaseSpaceDecoder's contract).
        self._decoder_returns_states = self.space_decoder is not None and \
            'return_states' in inspect.signature(self.space_decoder.forward).parameters
        if self.time_pointer is not None:
            if not hasattr(self.answer.time_coder, 'boundary_time_ids'):
                raise ValueError('a time_pointer points at the shown frame times: use '
                                 "answer=dict(type='SnappedSpanAnswer')")
            self.answer.time_coder.check_time_tokens()

    def decode_frames(self, hidden: torch.Tensor, layouts, data_samples) -> FrameOutputs:
        """Boxes, the per-frame states both heads read, and the frame scores' logits."""
        inputs = gather_head_inputs(hidden, layouts)
        frames = FrameOutputs(num_frames=[l.num_frames for l in layouts], states=inputs.query)
        if self.space_decoder is not None:
            if self.frame_state_source == 'space_decoder' and self._decoder_returns_states:
                frames.boxes, frames.states = self.run_space_decoder(inputs, layouts,
                                                                     return_states=True)
            else:
                frames.boxes = self.run_space_decoder(inputs, layouts)
            self._check_boxes(frames.boxes, layouts)
        if self.frame_score_head is not None:
            frames.score_logits = self.frame_score_head(frames.states)
        return frames

    def head_outputs(self, frames: FrameOutputs) -> List[Tuple[nn.Module, torch.Tensor]]:
        """The space decoder's boxes, then the frame score head's logits."""
        heads = super().head_outputs(frames)
        if self.frame_score_head is not None:
            heads.append((self.frame_score_head, frames.score_logits))
        return heads

    def logits_processor(self, frames: FrameOutputs, layouts,
                         data_samples) -> Optional[LogitsProcessor]:
        """The time pointer over the frames' boundaries, or None."""
        if self.time_pointer is None:
            return None
        counts = frames.num_frames
        states = frames.states
        ids = torch.full((len(counts), states.shape[1] + 1), -1, dtype=torch.long)
        for b, (sample, count) in enumerate(zip(data_samples, counts)):
            times, duration = frame_times_and_duration(sample, count)
            if len(times) != count:
                raise ValueError(f"sample {sample.metainfo.get('video_id')!r} has "
                                 f'{len(times)} frame_times for {count} queries')
            try:
                boundary_ids = self.answer.time_coder.boundary_time_ids(times, duration)
            except ValueError as error:
                raise ValueError(f"sample {sample.metainfo.get('video_id')!r} "
                                 f'({float(duration):.1f} s long): {error}') from error
            ids[b, :count + 1] = torch.tensor(boundary_ids)
        ids = ids.to(states.device)
        pointed = torch.tensor([self.answer.time_pointed(s) for s in data_samples],
                               device=states.device)

        def point(logits, answer_states, rows):
            out = self.time_pointer(logits, answer_states, states, counts, ids, rows)
            keep = pointed if rows is None else pointed[rows]
            if bool(keep.all()):
                return out
            return torch.where(keep[:, None], out, logits.to(out.dtype))

        return point
