"""One video, many sentences: find the samples that share frames and prefill their prefix once.

In the ``qwen_1_5`` and ``mmstvg`` layouts the video and its queries come
before the sentence, so under causal attention every state up to the first
token that differs (the prompt's prefix) is the same for all sentences about
one video segment. :func:`video_share_groups` finds the samples of a batch
whose frames are equal; :func:`shared_prefix_length` finds their common
prefix; :func:`run_shared_prefix` runs that prefix once and continues each
sentence from a copy of its key/value cache. Rationale and figures:
``docs/en/shared_video_evaluation.md``.
"""
import copy
from collections import OrderedDict
from dataclasses import replace
from typing import Hashable, List, Optional, Sequence

import torch

from mmstvg.structures import GroundingDataSample

from .multimodal_sequence import LLMPass, SequenceLayout, pad_sequences

__all__ = ['video_share_groups', 'shared_prefix_length', 'run_shared_prefix',
           'prefill_prefix', 'continue_from_prefix', 'layout_moved_after',
           'sharing_unsupported_reason', 'LastVideoCache']


def _frames_key(sample: GroundingDataSample) -> Hashable:
    """What two samples must have in common for their frames to be compared."""
    meta = sample.metainfo
    inds = meta.get('frame_inds')
    times = meta.get('frame_times')
    return (meta.get('video_path', meta.get('video_id')),
            None if inds is None else tuple(int(i) for i in inds),
            None if times is None else tuple(float(t) for t in times),
            meta.get('duration'))


def video_share_groups(inputs: torch.Tensor,
                       data_samples: Sequence[GroundingDataSample]) -> List[List[int]]:
    """Group the batch's samples whose frames, frame times and duration are equal.

    Two samples share only when their video, sampled frame indices, frame
    times and duration agree *and* their frame tensors are equal element for
    element, so sharing never changes what the model sees.

    Args:
        inputs: ``(B, T, 3, H, W)`` frames from the data preprocessor.
        data_samples: the batch's samples.

    Returns:
        Lists of batch indices (first-seen order); a sample that shares with
        none is a group of one.
    """
    candidates: 'OrderedDict[Hashable, List[List[int]]]' = OrderedDict()
    for index, sample in enumerate(data_samples):
        groups = candidates.setdefault(_frames_key(sample), [])
        for group in groups:
            if _same_tensor(inputs[group[0]], inputs[index]):
                group.append(index)
                break
        else:
            groups.append([index])
    return [group for groups in candidates.values() for group in groups]


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal element for element; views of the same memory (the data
    preprocessor's one-video batch) without reading it."""
    if a.shape == b.shape and a.dtype == b.dtype and a.data_ptr() == b.data_ptr() \
            and a.stride() == b.stride():
        return True
    return torch.equal(a, b)


def sharing_unsupported_reason(llm, vision_encoder) -> Optional[str]:
    """Why a model cannot share a prefix (None when it can).

    Parts that compute their own position ids (multimodal RoPE) or take
    DeepStack features place the video by layout in the padded batch; the
    shared path uses 1-D positions counted from the attention mask.
    """
    if hasattr(llm, 'layout_position_ids'):
        return (f'the LLM part {type(llm).__name__} computes its own position ids '
                '(multimodal RoPE)')
    if getattr(vision_encoder, 'num_deepstack_layers', 0) > 0:
        return f'the vision encoder {type(vision_encoder).__name__} gives DeepStack features'
    return None


def shared_prefix_length(embeds: Sequence[torch.Tensor],
                         layouts: Sequence[SequenceLayout]) -> Optional[int]:
    """The tokens every sequence has in common at its start, if they hold the video.

    The prefix stops at the first position where any two sequences differ or
    at the first sentence token, whichever comes first, and leaves every
    sequence at least one token of its own (the last prompt token, whose
    state starts generation).

    Args:
        embeds: ``K`` prompt embeddings ``(L_k, D)`` (no answers).
        layouts: their layouts.

    Returns:
        The prefix length, or None when it does not cover every visual and
        query token (the sentence comes before the video, e.g. a
        ``user_sentence_first`` template): nothing worth sharing.
    """
    # Up to the sentence at most: the prefix is then the video's alone, and a
    # follow-up sentence finds it again (LastVideoCache).
    limit = min(min(int(layout.prompt_len) - 1,
                    int(layout.sentence_pos[0]) if layout.sentence_pos.numel()
                    else int(layout.prompt_len))
                for layout in layouts)
    first = embeds[0]
    for other in embeds[1:]:
        differs = (first[:limit] != other[:limit]).any(-1).nonzero()
        if differs.numel():
            limit = int(differs[0])
    video_end = max(int(torch.cat([layout.frame_token_pos.flatten(),
                                   layout.query_pos.flatten()]).max()) + 1
                    for layout in layouts)
    return limit if limit >= video_end else None


def layout_moved_after(layout: SequenceLayout, start: int, offset: int) -> SequenceLayout:
    """The layout with every position from ``start`` on moved ``offset`` later."""

    def move(positions: torch.Tensor) -> torch.Tensor:
        return torch.where(positions >= start, positions + offset, positions)

    def move_int(position: int) -> int:
        return position + offset if position >= start else position

    return replace(layout, query_pos=move(layout.query_pos),
                   frame_token_pos=move(layout.frame_token_pos),
                   frame_prefix_pos=move(layout.frame_prefix_pos),
                   sentence_pos=move(layout.sentence_pos),
                   video_start=move_int(layout.video_start),
                   prompt_len=move_int(layout.prompt_len), length=move_int(layout.length))


def prefill_prefix(llm, prefix: torch.Tensor):
    """Run a prefix ``(P, D)`` once: ``(hidden (1, P, D), its key/value cache)``."""
    ones = torch.ones(1, prefix.shape[0], dtype=torch.long, device=prefix.device)
    hidden, cache = llm(prefix[None], attention_mask=ones, use_cache=True)
    if not hasattr(cache, 'batch_repeat_interleave'):
        raise TypeError(f'the LLM part {type(llm).__name__} returned a {type(cache).__name__} '
                        'key/value cache, which cannot be repeated for the sentences; '
                        'set model.share_video=False')
    return hidden, cache


def continue_from_prefix(llm, prefix_hidden: torch.Tensor, prefix_cache,
                         embeds: Sequence[torch.Tensor], layouts: Sequence[SequenceLayout],
                         prefix_len: int) -> LLMPass:
    """Every sequence's own tokens after a prefilled prefix (the cache is consumed).

    The continuations are left-padded after the prefix, so each sample's
    last prompt token is last in its row and generation goes on from there;
    positions count the attention mask's real tokens, so a continuation's
    tokens sit where they would without sharing.

    Args:
        llm: the LLM part (1-D positions from the mask).
        prefix_hidden: ``(1, prefix_len, D)`` from :func:`prefill_prefix`.
        prefix_cache: its cache; repeated for the rows and extended in place.
        embeds: ``K`` prompt embeddings ``(L_k, D)`` whose first
            ``prefix_len`` rows are the prefix.
        layouts: their layouts (positions from each sequence's first token).
        prefix_len: the prefix's length.

    Returns:
        An :class:`LLMPass` as :meth:`VideoGroundingLLM.run_llm` gives it:
        ``hidden`` ``(K, prefix_len + S, D)`` (the prefix's states repeated),
        the cache and mask of all ``K`` rows, the layouts already moved to
        their rows (offsets all 0), no labels and no position ids.
    """
    count = len(embeds)
    prefix_cache.batch_repeat_interleave(count)
    own, own_mask, _, pads = pad_sequences([e[prefix_len:] for e in embeds], side='left')
    ones = torch.ones(count, prefix_len, dtype=torch.long, device=own.device)
    mask = torch.cat([ones, own_mask], dim=1)
    own_hidden, cache = llm(own, attention_mask=mask, past_key_values=prefix_cache,
                            use_cache=True)
    hidden = torch.cat([prefix_hidden.expand(count, -1, -1), own_hidden], dim=1)
    moved = [layout_moved_after(layout, prefix_len, pad) for layout, pad in zip(layouts, pads)]
    return LLMPass(hidden, cache, mask, None, moved, [0] * count, None)


def run_shared_prefix(llm, embeds: Sequence[torch.Tensor], layouts: Sequence[SequenceLayout],
                      prefix_len: int) -> LLMPass:
    """Prefill the common prefix once, then every sequence's own tokens from its cache.

    :func:`prefill_prefix` on ``embeds[0][:prefix_len]``, then
    :func:`continue_from_prefix` (its arguments and result).
    """
    hidden, cache = prefill_prefix(llm, embeds[0][:prefix_len])
    return continue_from_prefix(llm, hidden, cache, embeds, layouts, prefix_len)


class LastVideoCache:
    """The last video's visual tokens and prompt prefix, for a follow-up sentence.

    An interactive session (the inferencer, the demo) asks about one video
    again and again; with this cache on the model (``model.last_video``) a
    follow-up sentence on the same frames skips the vision parts and the
    prefix pass. It holds one video: its frames (to compare, exactly), its
    visual tokens, the prefix's embeddings and states, and the prefix's
    key/value cache (at 7B in bf16, ~0.78 GB for 13.7K tokens). A new video
    replaces it; :meth:`clear` frees it.
    """

    def __init__(self):
        self.frames: Optional[torch.Tensor] = None
        self.tokens: Optional[torch.Tensor] = None
        self.prefix: Optional[torch.Tensor] = None
        self.hidden: Optional[torch.Tensor] = None
        self.cache = None
        self.hits = 0

    def clear(self) -> None:
        """Forget the video (frees its memory)."""
        self.frames = self.tokens = self.prefix = self.hidden = self.cache = None

    def tokens_for(self, frames: torch.Tensor) -> Optional[torch.Tensor]:
        """The visual tokens of ``frames`` when they are the cached video's."""
        if self.frames is not None and self.frames.shape == frames.shape and \
                torch.equal(self.frames, frames):
            return self.tokens
        return None

    def prefix_for(self, frames: torch.Tensor, prefix: torch.Tensor):
        """``(hidden, a copy of the cache)`` when ``prefix`` is the cached one."""
        if self.tokens_for(frames) is None or self.prefix is None or \
                self.prefix.shape != prefix.shape or not torch.equal(self.prefix, prefix):
            return None
        self.hits += 1
        return self.hidden, copy.deepcopy(self.cache)

    def store(self, frames: torch.Tensor, tokens: torch.Tensor, prefix: torch.Tensor,
              hidden: torch.Tensor, cache) -> None:
        """Keep this video (``cache`` is copied: the caller goes on with its own)."""
        self.clear()
        self.frames, self.tokens, self.prefix, self.hidden = frames, tokens, prefix, hidden
        self.cache = copy.deepcopy(cache)
