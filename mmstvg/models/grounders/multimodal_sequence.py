"""Assembling one sample's LLM input: text pieces around the video segment."""
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import torch

from mmstvg.models.language.prompt_builder import PromptPieces
from mmstvg.models.query_interleavers.base import InterleavedVideo

__all__ = ['SequenceLayout', 'assemble_sequence', 'pad_sequences', 'IGNORE_INDEX']

#: Label of positions that carry no language loss.
IGNORE_INDEX = -100


@dataclass
class SequenceLayout:
    """Where things are in one sample's sequence (positions from its first token).

    Attributes:
        query_pos: ``(Q,)`` positions of the query tokens.
        frame_token_pos: ``(T, P)`` positions of each frame's visual tokens.
        frame_prefix_pos: ``(T,)`` positions of each frame's first prefix token.
        sentence_pos: ``(S,)`` positions of the sentence tokens.
        video_start: position of the video segment's first token.
        prompt_len: tokens before the answer (the answer starts here).
        length: total tokens, answer included.
    """
    query_pos: torch.Tensor
    frame_token_pos: torch.Tensor
    frame_prefix_pos: torch.Tensor
    sentence_pos: torch.Tensor
    video_start: int
    prompt_len: int
    length: int

    def shifted(self, offset: int) -> 'SequenceLayout':
        """The same layout ``offset`` tokens later (e.g. after left padding)."""
        return SequenceLayout(self.query_pos + offset, self.frame_token_pos + offset,
                              self.frame_prefix_pos + offset, self.sentence_pos + offset,
                              self.video_start + offset, self.prompt_len + offset,
                              self.length + offset)


def assemble_sequence(pieces: PromptPieces, visual_tokens: torch.Tensor,
                      embed_tokens: Callable[[torch.Tensor], torch.Tensor],
                      lay_out_video: Callable[..., InterleavedVideo]):
    """Build one sample's input embeddings, labels and layout.

    Order: ``head | video segment | between | sentence | tail | answer``, or
    ``head | sentence | between | video segment | tail | answer`` when
    ``pieces.sentence_first``; labels are :data:`IGNORE_INDEX` everywhere but
    on the answer tokens (EOS included).

    Args:
        pieces: the sample's token pieces.
        visual_tokens: ``(T, P, D)`` projected visual tokens, in the LLM dtype.
        embed_tokens: the LLM's ids -> embeddings function.
        lay_out_video: ``(visual_tokens, frame_prefix_embeds) -> InterleavedVideo``.

    Returns:
        ``(embeds (L, D), labels (L,), layout)``.
    """
    device = visual_tokens.device
    prefix_lens = [len(ids) for ids in pieces.frame_prefix_ids]
    text_parts = [pieces.head_ids, *pieces.frame_prefix_ids, pieces.between_ids,
                  pieces.sentence_ids, pieces.tail_ids, pieces.answer_ids]
    all_ids = torch.tensor([i for part in text_parts for i in part], dtype=torch.long,
                           device=device)
    all_embeds = embed_tokens(all_ids).to(visual_tokens.dtype)
    splits = list(all_embeds.split([len(part) for part in text_parts], dim=0))
    head, prefixes = splits[0], splits[1:1 + len(prefix_lens)]
    between, sentence, tail, answer = splits[1 + len(prefix_lens):]
    frame_prefix_embeds = list(prefixes) if sum(prefix_lens) > 0 else None
    video: InterleavedVideo = lay_out_video(visual_tokens, frame_prefix_embeds)
    video_embeds = video.embeds.to(head.dtype)

    if pieces.sentence_first:
        middle = [head, sentence, between, video_embeds]
        sentence_start = head.shape[0]
        video_start = sentence_start + sentence.shape[0] + between.shape[0]
    else:
        middle = [head, video_embeds, between, sentence]
        video_start = head.shape[0]
        sentence_start = video_start + video_embeds.shape[0] + between.shape[0]
    prompt_len = sum(part.shape[0] for part in middle) + tail.shape[0]
    embeds = torch.cat([*middle, tail, answer])
    labels = torch.full((embeds.shape[0], ), IGNORE_INDEX, dtype=torch.long, device=device)
    labels[prompt_len:] = torch.tensor(pieces.answer_ids, dtype=torch.long, device=device)
    layout = SequenceLayout(
        query_pos=video.query_index.to(device) + video_start,
        frame_token_pos=video.frame_token_index.to(device) + video_start,
        frame_prefix_pos=video.frame_prefix_index.to(device) + video_start,
        sentence_pos=torch.arange(sentence_start, sentence_start + sentence.shape[0],
                                  device=device),
        video_start=video_start,
        prompt_len=prompt_len,
        length=embeds.shape[0])
    return embeds, labels, layout


def pad_sequences(embeds: Sequence[torch.Tensor],
                  labels: Optional[Sequence[torch.Tensor]] = None,
                  side: str = 'right'):
    """Pad per-sample sequences into a batch.

    Args:
        embeds: ``B`` tensors ``(L_b, D)``.
        labels: optional ``B`` tensors ``(L_b,)``, padded with
            :data:`IGNORE_INDEX`.
        side: ``'right'`` (training) or ``'left'`` (generation).

    Returns:
        ``(embeds (B, L, D), attention_mask (B, L) long, labels (B, L) or None,
        offsets)`` where ``offsets[b]`` is how far sample ``b`` moved right
        (its left padding; 0 for right padding).
    """
    if side not in ('left', 'right'):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    max_len = max(e.shape[0] for e in embeds)
    batch = embeds[0].new_zeros(len(embeds), max_len, embeds[0].shape[-1])
    mask = torch.zeros(len(embeds), max_len, dtype=torch.long, device=batch.device)
    batch_labels = None
    if labels is not None:
        batch_labels = torch.full((len(embeds), max_len), IGNORE_INDEX,
                                  dtype=torch.long, device=batch.device)
    offsets: List[int] = []
    for b, seq in enumerate(embeds):
        length = seq.shape[0]
        start = max_len - length if side == 'left' else 0
        offsets.append(start)
        batch[b, start:start + length] = seq
        mask[b, start:start + length] = 1
        if labels is not None:
            batch_labels[b, start:start + length] = labels[b]
    return batch, mask, batch_labels, offsets
