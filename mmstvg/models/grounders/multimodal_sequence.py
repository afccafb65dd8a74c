"""Sequence building: prompt pieces, the interleaved video, padding and layouts.

:class:`SequenceBuilder` turns a batch's projected visual tokens and data
samples into the LLM's input embeddings, answer labels and a
:class:`SequenceLayout` per sample; :func:`gather_head_inputs` reads the
per-frame states the heads decode from the LLM's hidden states by layout.
"""
from dataclasses import dataclass, replace
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log

from mmstvg.models.language.answer_coder_table import AnswerCoderTable, spans_whole_input
from mmstvg.models.language.prompt_builder import PromptBuilder, PromptPieces
from mmstvg.models.language.user_text import UnsafeUserTextError
from mmstvg.models.query_interleavers.base import InterleavedVideo
from mmstvg.models.space_decoders.head_structures import HeadInputs
from mmstvg.structures import GroundingDataSample, frame_times_and_duration

from .temporal_patches import temporal_patches
from .text_parts import PROMPT_PIECES_KEY, TokenizedPrompt

__all__ = ['SequenceLayout', 'LLMPass', 'SequenceBuilder', 'assemble_sequence', 'pad_sequences',
           'check_one_query_per_frame', 'layout_position_ids', 'deepstack_inputs',
           'gather_head_inputs', 'frame_times_and_duration', 'insert_frame_suffixes',
           'IGNORE_INDEX']

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
        prompt_len: tokens before the (first) answer (the answer starts here).
        length: total tokens, answers (and a conversation's further rounds)
            included.
        frame_patch: ``(T,)`` long, the temporal patch (row of
            ``frame_token_pos``, query of ``query_pos``) holding each sampled
            frame, when a token grid spans several frames (Qwen-VL's paired
            frames, :mod:`.temporal_patches`); None: one grid a frame.
        frame_grid: ``(rows, cols)`` of each frame's ``P`` visual tokens
            (row-major), when the vision encoder knows it for this video's
            frame size (Qwen-VL's per-video grid after its 2x2 merge); None:
            a space decoder reads the grid from ``P`` (LLaVA's square one).

    With ``frame_patch``, ``frame_token_pos`` / ``frame_prefix_pos`` /
    ``query_pos`` have one row per temporal patch, and
    :func:`gather_head_inputs` gives the heads one state per sampled frame
    (the patch's).
    """
    query_pos: torch.Tensor
    frame_token_pos: torch.Tensor
    frame_prefix_pos: torch.Tensor
    sentence_pos: torch.Tensor
    video_start: int
    prompt_len: int
    length: int
    frame_patch: Optional[torch.Tensor] = None
    frame_grid: Optional[Tuple[int, int]] = None

    @property
    def num_frames(self) -> int:
        """Sampled frames (the heads' outputs per sample)."""
        if self.frame_patch is not None:
            return int(self.frame_patch.numel())
        return int(self.frame_token_pos.shape[0])

    def shifted(self, offset: int) -> 'SequenceLayout':
        """The same layout ``offset`` tokens later (e.g. after left padding)."""
        return replace(self, query_pos=self.query_pos + offset,
                       frame_token_pos=self.frame_token_pos + offset,
                       frame_prefix_pos=self.frame_prefix_pos + offset,
                       sentence_pos=self.sentence_pos + offset,
                       video_start=self.video_start + offset,
                       prompt_len=self.prompt_len + offset, length=self.length + offset)


def insert_frame_suffixes(video: InterleavedVideo,
                          suffixes: Sequence[torch.Tensor]) -> InterleavedVideo:
    """Place ``suffixes[t]`` right after frame ``t``'s visual tokens.

    Qwen3-VL closes every temporal patch with ``<|vision_end|>``; an
    interleaver places frames, prefixes and queries, and this puts each
    frame's closing text between its visual tokens and what follows them (a
    query after a frame thus comes after its ``<|vision_end|>``).

    Args:
        video: the interleaver's segment.
        suffixes: ``T`` tensors ``(n_t, D)``.

    Returns:
        The segment with the suffixes, its positions moved accordingly.
    """
    ends = video.frame_token_index[:, -1]
    if len(suffixes) != ends.numel():
        raise ValueError(f'{len(suffixes)} frame suffixes for {ends.numel()} frames')
    lengths = torch.tensor([len(x) for x in suffixes], device=ends.device)
    if int(lengths.sum()) == 0:
        return video

    def moved(index: torch.Tensor) -> torch.Tensor:
        # every position after a frame's last token moves by that frame's suffix
        after = (index[..., None] > ends).long()
        return index + (after * lengths).sum(-1)

    pieces, cursor = [], 0
    for t in torch.argsort(ends).tolist():
        end = int(ends[t]) + 1
        pieces += [video.embeds[cursor:end], suffixes[t].to(video.embeds.dtype)]
        cursor = end
    pieces.append(video.embeds[cursor:])
    return InterleavedVideo(torch.cat(pieces), moved(video.frame_token_index),
                            moved(video.frame_prefix_index), moved(video.query_index))


def assemble_sequence(pieces: PromptPieces, visual_tokens: torch.Tensor,
                      embed_tokens: Callable[[torch.Tensor], torch.Tensor],
                      lay_out_video: Callable[..., InterleavedVideo],
                      frame_patch: Optional[torch.Tensor] = None):
    """Build one sample's input embeddings, labels and layout.

    Order: ``head | video segment | between | sentence | tail | answer``, or
    ``head | sentence | between | video segment | tail | answer`` when
    ``pieces.sentence_first``, then a conversation's further rounds
    (``user | answer`` each); labels are :data:`IGNORE_INDEX` everywhere but
    on the answers' tokens (each answer's end token included), as LLaVA
    trains on the assistant turns only.

    Each token grid's prefix (``pieces.frame_prefix_ids``) goes before it,
    its suffix (``pieces.frame_suffix_ids``) right after its visual tokens.

    Args:
        pieces: the sample's token pieces.
        visual_tokens: ``(G, P, D)`` projected visual tokens, one grid a
            frame or a temporal patch, in the LLM dtype.
        embed_tokens: the LLM's ids -> embeddings function.
        lay_out_video: ``(visual_tokens, frame_prefix_embeds) -> InterleavedVideo``.
        frame_patch: ``(T,)`` the grid of each sampled frame (the layout's
            ``frame_patch``); None: one grid a frame.

    Returns:
        ``(embeds (L, D), labels (L,), layout)``.
    """
    device = visual_tokens.device
    prefix_lens = [len(ids) for ids in pieces.frame_prefix_ids]
    suffix_ids = list(pieces.frame_suffix_ids)
    rounds = [ids for r in pieces.rounds for ids in (r.user_ids, r.answer_ids)]
    text_parts = [pieces.head_ids, *pieces.frame_prefix_ids, pieces.between_ids,
                  pieces.sentence_ids, pieces.tail_ids, pieces.answer_ids, *rounds,
                  *suffix_ids]
    all_ids = torch.tensor([i for part in text_parts for i in part], dtype=torch.long,
                           device=device)
    all_embeds = embed_tokens(all_ids).to(visual_tokens.dtype)
    splits = list(all_embeds.split([len(part) for part in text_parts], dim=0))
    head, prefixes = splits[0], splits[1:1 + len(prefix_lens)]
    between, sentence, tail, answer = splits[1 + len(prefix_lens):5 + len(prefix_lens)]
    round_embeds = splits[5 + len(prefix_lens):len(splits) - len(suffix_ids)]
    suffixes = splits[len(splits) - len(suffix_ids):]
    frame_prefix_embeds = list(prefixes) if sum(prefix_lens) > 0 else None
    video: InterleavedVideo = lay_out_video(visual_tokens, frame_prefix_embeds)
    _check_video_layout(video, visual_tokens.shape[0], lay_out_video)
    if suffix_ids:
        video = insert_frame_suffixes(video, suffixes)
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
    embeds = torch.cat([*middle, tail, answer, *round_embeds])
    labels = torch.full((embeds.shape[0], ), IGNORE_INDEX, dtype=torch.long, device=device)
    cursor = prompt_len
    for is_answer, ids in zip([True] + [False, True] * len(pieces.rounds),
                              [pieces.answer_ids, *rounds]):
        if is_answer:
            labels[cursor:cursor + len(ids)] = torch.tensor(ids, dtype=torch.long,
                                                            device=device)
        cursor += len(ids)
    layout = SequenceLayout(
        query_pos=video.query_index.to(device) + video_start,
        frame_token_pos=video.frame_token_index.to(device) + video_start,
        frame_prefix_pos=video.frame_prefix_index.to(device) + video_start,
        sentence_pos=torch.arange(sentence_start, sentence_start + sentence.shape[0],
                                  device=device),
        video_start=video_start,
        prompt_len=prompt_len,
        length=embeds.shape[0],
        frame_patch=None if frame_patch is None else frame_patch.to(device))
    return embeds, labels, layout


def _check_video_layout(video: InterleavedVideo, num_frames: int, part) -> None:
    """The interleaver's positions lie inside its segment (the part contract)."""
    name = type(part).__name__
    length = video.embeds.shape[0]
    for field in ('query_index', 'frame_token_index', 'frame_prefix_index'):
        index = getattr(video, field)
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= length):
            raise ValueError(f'query interleaver {name}: {field} must lie in [0, {length}) '
                             f'(the segment it returned), got [{int(index.min())}, '
                             f'{int(index.max())}]')
    if video.frame_token_index.dim() != 2 or video.frame_token_index.shape[0] != num_frames:
        raise ValueError(f'query interleaver {name}: frame_token_index must be '
                         f'(T={num_frames}, P), got {tuple(video.frame_token_index.shape)}')


class LLMPass(NamedTuple):
    """One padded batch through the LLM (:meth:`VideoGroundingLLM.run_llm`)."""
    hidden: torch.Tensor          # (B, L, D) last hidden states
    cache: object                 # the LLM's key/value cache, or None
    mask: torch.Tensor            # (B, L) attention mask
    labels: Optional[torch.Tensor]  # (B, L) answer labels (training), or None
    layouts: list                 # one SequenceLayout a sample, before padding
    offsets: List[int]            # left-padding offset of each sample
    positions: Optional[torch.Tensor]  # position ids, or None (1-D from the mask)


def layout_position_ids(llm, vision_encoder, frame_size: Sequence[int],
                        layouts: Sequence['SequenceLayout'], offsets: Sequence[int],
                        length: int, data_samples: Sequence[GroundingDataSample]
                        ) -> Optional[torch.Tensor]:
    """Position ids of a padded batch, when the LLM part computes its own.

    An LLM part with a ``layout_position_ids`` method (e.g. multimodal RoPE,
    :mod:`mmstvg.models.llm_backbones.multimodal_rope`) gets the layouts, the
    padding offsets, the frames' token grid (from the vision encoder and the
    frame size ``(H, W)``) and the frame times; otherwise None: the LLM counts
    1-D positions from the attention mask.
    """
    compute = getattr(llm, 'layout_position_ids', None)
    if compute is None:
        return None
    grid = vision_encoder.token_grid(*frame_size)
    if all(layout.frame_patch is None for layout in layouts):
        times = [frame_times_and_duration(sample, layout.frame_token_pos.shape[0])[0]
                 for sample, layout in zip(data_samples, layouts)]
        return compute(layouts, offsets, length, grid, times)
    # temporal patches: each patch's time, and the processor's seconds per patch
    per_patch = int(getattr(vision_encoder, 'frames_per_patch', 1))
    patches = [temporal_patches(sample,
                                frame_times_and_duration(sample, layout.num_frames)[0],
                                per_patch)
               for sample, layout in zip(data_samples, layouts)]
    return compute(layouts, offsets, length, grid, [p.patch_times for p in patches],
                   second_per_grid=[p.second_per_patch for p in patches])


def deepstack_inputs(llm, features: Sequence[torch.Tensor],
                     layouts: Sequence['SequenceLayout'], offsets: Sequence[int],
                     length: int) -> dict:
    """The LLM part's DeepStack inputs of a padded batch (Qwen3-VL).

    Each sample's DeepStack features go to its visual tokens' positions
    (``layout.frame_token_pos`` moved by its padding offset); query tokens,
    time stamps and text get none, as in Qwen3-VL, where only the vision
    placeholders do.

    Args:
        llm: the LLM part; it must declare ``takes_deepstack``.
        features: ``B`` tensors ``(K, T_b, P, D)``.
        layouts: each sample's layout (before padding).
        offsets: each sample's left padding.
        length: the padded length.

    Returns:
        ``dict(visual_pos_masks=(B, length) bool, deepstack_visual_embeds=K
        tensors (M, D))``, the rows in the mask's order (batch-major, then
        position), the keyword arguments of the LLM part's forward.
    """
    if not getattr(llm, 'takes_deepstack', False):
        raise ValueError(f'the vision encoder gives DeepStack features but the LLM part '
                         f'{type(llm).__name__} takes none; use an LLM part that does '
                         '(Qwen3VLCausalLM)')
    expected = getattr(llm, 'num_deepstack_layers', None)
    levels = features[0].shape[0]
    if expected is not None and expected != levels:
        raise ValueError(f'the vision encoder gives {levels} DeepStack levels, the LLM '
                         f'part expects {expected}')
    device = features[0].device
    mask = torch.zeros(len(layouts), length, dtype=torch.bool, device=device)
    rows = []
    for b, (feature, layout, offset) in enumerate(zip(features, layouts, offsets)):
        positions = layout.frame_token_pos.flatten() + offset
        if feature.shape[1:3] != layout.frame_token_pos.shape:
            raise ValueError(f'sample {b}: DeepStack features of {tuple(feature.shape[1:3])} '
                             f'frames x tokens for a layout of '
                             f'{tuple(layout.frame_token_pos.shape)}')
        order = torch.argsort(positions)
        mask[b, positions] = True
        rows.append(feature.flatten(1, 2)[:, order])
    embeds = torch.cat(rows, dim=1)
    return dict(visual_pos_masks=mask, deepstack_visual_embeds=list(embeds.unbind(0)))


class SequenceBuilder:
    """Builds each sample's LLM input from its visual tokens and its texts.

    Args:
        prompt_builder: renders and tokenises the prompt pieces.
        answer: the grounder's :class:`AnswerCoderTable` (or one configured
            answer coder, joined with the task table here); the coder of a
            sample's task encodes its target answer, or gives a
            conversation's ``rounds``. None: prompts without answers only.
        frames_per_patch: sampled frames in one token grid (the vision
            encoder's temporal patch, :mod:`.temporal_patches`): the prompt
            gets one time stamp a patch; 1: one a frame.
        fingerprint: the :attr:`TextParts.fingerprint` and summary of the
            parts above, as a function called once when first needed; a
            sample's pipeline-made pieces (:class:`TokenizedPrompt`) must
            carry the same. None: such pieces cannot be checked and are
            refused.

        note_fallback: say once (``print_log``, the current logger) when a
            sample without pipeline-made pieces is tokenized here; the
            grounder's builder does, the transform's (whose work that is)
            does not.

    A sample whose metainfo holds a :class:`TokenizedPrompt` (the data
    pipeline's ``TokenizeGroundingPrompt`` made it in a dataloader worker)
    for the asked ``with_answer`` uses its pieces. Every shipped path gives
    its samples pieces (``build_runner``'s loaders, the inferencer and so the
    demo, the lmms-eval model, the analysis tools:
    :func:`~mmstvg.datasets.transforms.with_prompt_tokenization`); the
    others are tokenized here, in the main process: samples made by hand
    (tests, a user's own code), a config built without ``build_runner`` or
    whose pipeline names no ``TokenizeGroundingPrompt`` (a user's own), said
    once, and pieces made for the other mode (a training sample predicted, a
    ``tensor``-mode forward), silently.
    """

    def __init__(self, prompt_builder: PromptBuilder, answer, frames_per_patch: int = 1,
                 fingerprint: Optional[Callable[[], Tuple[str, str]]] = None,
                 note_fallback: bool = False):
        self.prompt_builder = prompt_builder
        self.answer = (answer if answer is None or isinstance(answer, AnswerCoderTable)
                       else AnswerCoderTable(answer))
        self.frames_per_patch = int(frames_per_patch)
        self._fingerprint_fn = fingerprint
        self._fingerprint: Optional[Tuple[str, str]] = None
        self._note_fallback = bool(note_fallback)

    def pieces(self, sample: GroundingDataSample, num_frames: int,
               with_answer: bool) -> PromptPieces:
        """The token pieces of one sample (with its training answer or without).

        A conversation (caption, open QA) gets all its rounds from the answer
        part's ``rounds``: trained on every answer, or, without answer, the
        earlier rounds as context and the last question to be answered.

        Raises:
            UnsafeUserTextError: the tokenizer writes a control token from the
                sample's text even as plain text (the message names the sample).
        """
        tokenized = sample.metainfo.get(PROMPT_PIECES_KEY)
        if tokenized is not None and tokenized.with_answer == with_answer:
            self._check_tokenized(sample, tokenized, num_frames)
            return tokenized.pieces
        if tokenized is None and self._note_fallback:
            self._note_fallback = False
            print_log('prompts tokenized in the model (main process): the samples carry '
                      f'no {PROMPT_PIECES_KEY!r}; a pipeline makes them with '
                      'TokenizeGroundingPrompt (build_runner and the inferencer give it '
                      'the model; see with_prompt_tokenization)', logger='current')
        try:
            return self._pieces(sample, num_frames, with_answer)
        except UnsafeUserTextError as err:
            meta = sample.metainfo
            name = meta.get('sample_id', meta.get('video_id'))
            raise UnsafeUserTextError(f'data sample {name!r}: {err}') from err

    def _check_tokenized(self, sample: GroundingDataSample, tokenized: TokenizedPrompt,
                         num_frames: int) -> None:
        """The pipeline's pieces were made by these text parts, for these frames."""
        meta = sample.metainfo
        name = meta.get('sample_id', meta.get('video_id'))
        if self._fingerprint is None:
            if self._fingerprint_fn is None:
                raise ValueError(f'data sample {name!r}: metainfo {PROMPT_PIECES_KEY!r} '
                                 'comes from the data pipeline, and this SequenceBuilder '
                                 'has no fingerprint to check it against')
            self._fingerprint = self._fingerprint_fn()
        fingerprint, summary = self._fingerprint
        if tokenized.fingerprint != fingerprint:
            raise ValueError(
                f'data sample {name!r}: metainfo {PROMPT_PIECES_KEY!r} was tokenized with '
                f'{tokenized.summary} (fingerprint {tokenized.fingerprint}), the model '
                f'has {summary} (fingerprint {fingerprint}): give TokenizeGroundingPrompt '
                "the model's config (build_runner fills model=cfg.model where it is "
                'absent)')
        grids = -(-num_frames // self.frames_per_patch)
        have = len(tokenized.pieces.frame_prefix_ids)
        if have != grids:
            raise ValueError(f'data sample {name!r}: metainfo {PROMPT_PIECES_KEY!r} has '
                             f'{have} frame prefixes, the model sees {grids} token grids '
                             f'({num_frames} frames)')

    def _pieces(self, sample: GroundingDataSample, num_frames: int,
                with_answer: bool) -> PromptPieces:
        meta = sample.metainfo
        times, duration = frame_times_and_duration(sample, num_frames)
        # the prompt's times: one per token grid (a temporal patch's midpoint)
        shown = (times if self.frames_per_patch == 1 else
                 temporal_patches(sample, times, self.frames_per_patch).patch_times)
        if 'task' not in meta:
            raise KeyError(f"data sample {meta.get('video_id')!r} has no 'task'")
        coder = None if self.answer is None else self.answer.coder(sample)
        if hasattr(coder, 'rounds'):  # a conversation: every round from its coder
            rounds = coder.rounds(sample, with_answer)
            (question, answer), later = rounds[0], rounds[1:]
            return self.prompt_builder.build(meta['task'], question, duration, shown,
                                             answer=answer, rounds=later)
        if 'sentence' not in meta:
            raise KeyError(f"data sample {meta.get('video_id')!r} has no 'sentence'")
        answer = self.answer.encode(sample, times, duration) if with_answer else None
        # a REC sample is an image (one frame): Qwen-VL's image item
        return self.prompt_builder.build(meta['task'], meta['sentence'], duration, shown,
                                         answer=answer,
                                         question_template=meta.get('prompt_template'),
                                         image=spans_whole_input(sample))

    def build(self, video_tokens: Sequence[torch.Tensor],
              data_samples: Sequence[GroundingDataSample], with_answer: bool,
              embed_tokens: Callable[[torch.Tensor], torch.Tensor],
              lay_out_video: Callable[..., InterleavedVideo],
              num_frames: Optional[Sequence[int]] = None):
        """Per-sample embeddings, labels and layouts (not yet padded).

        Args:
            video_tokens: ``B`` tensors ``(G_b, P, D)``, one grid a temporal
                patch of :attr:`frames_per_patch` frames.
            data_samples: the batch's samples.
            with_answer: append the training answer (labelled) to each.
            embed_tokens: the LLM's ids -> embeddings function.
            lay_out_video: the query interleaver.
            num_frames: each sample's sampled frames (``VideoFeatures``);
                None: ``G_b`` (one grid a frame).

        Returns:
            ``(embeds, labels, layouts)``, lists of ``B``.
        """
        embeds, labels, layouts = [], [], []
        for b, (tokens, sample) in enumerate(zip(video_tokens, data_samples)):
            count = tokens.shape[0] if num_frames is None else int(num_frames[b])
            frame_patch = None
            if self.frames_per_patch > 1:
                frame_patch = torch.arange(count) // self.frames_per_patch
                if int(frame_patch[-1]) + 1 != tokens.shape[0]:
                    raise ValueError(f'{count} frames in temporal patches of '
                                     f'{self.frames_per_patch} make '
                                     f'{int(frame_patch[-1]) + 1} token grids, got '
                                     f'{tokens.shape[0]}')
            pieces = self.pieces(sample, count, with_answer)
            seq, lab, layout = assemble_sequence(pieces, tokens, embed_tokens, lay_out_video,
                                                 frame_patch)
            embeds.append(seq)
            labels.append(lab)
            layouts.append(layout)
        return embeds, labels, layouts


def check_one_query_per_frame(video_tokens: Sequence[torch.Tensor],
                              layouts: Sequence[SequenceLayout], part: str) -> None:
    """A space decoder's contract: the interleaver ``part`` placed one query a
    token grid (a frame, or a temporal patch whose frames share it)."""
    for tokens, layout in zip(video_tokens, layouts):
        if layout.query_pos.numel() != tokens.shape[0]:
            unit = 'frames' if layout.frame_patch is None else 'temporal patches'
            raise ValueError(
                f'query interleaver {part} placed {layout.query_pos.numel()} queries for '
                f'{tokens.shape[0]} {unit}; the space decoder needs one query per frame '
                '(per temporal patch when frames are paired)')


def gather_head_inputs(hidden: torch.Tensor,
                       layouts: Sequence[SequenceLayout]) -> HeadInputs:
    """The per-frame states a space decoder reads, batched and padded.

    A frame in a temporal patch (``layout.frame_patch``) gets its patch's
    query and visual tokens (:mod:`.temporal_patches`), so there is one state
    per sampled frame either way.

    Args:
        hidden: ``(B, L, D)`` the LLM's last-layer states.
        layouts: each sample's layout (positions in ``hidden``).

    Returns:
        :class:`HeadInputs` ``(query (B, T, D), frames (B, T, P, D), text
        (B, S, D), text_mask (B, S) bool, frame_mask (B, T) bool)`` with
        ``T`` / ``S`` the batch's most frames / sentence tokens.
    """
    batch, device = len(layouts), hidden.device
    max_t = max(l.num_frames for l in layouts)
    num_tokens = layouts[0].frame_token_pos.shape[1]
    max_s = max(max(l.sentence_pos.numel() for l in layouts), 1)
    dim = hidden.shape[-1]
    query = hidden.new_zeros(batch, max_t, dim)
    frames = hidden.new_zeros(batch, max_t, num_tokens, dim)
    text = hidden.new_zeros(batch, max_s, dim)
    text_mask = torch.zeros(batch, max_s, dtype=torch.bool, device=device)
    frame_mask = torch.zeros(batch, max_t, dtype=torch.bool, device=device)
    for b, layout in enumerate(layouts):
        t = layout.num_frames
        frame_mask[b, :t] = True
        query_pos, token_pos = layout.query_pos, layout.frame_token_pos
        if layout.frame_patch is not None:
            token_pos = token_pos[layout.frame_patch]
            if query_pos.numel():
                query_pos = query_pos[layout.frame_patch]
        query[b, :t] = hidden[b, query_pos]
        frames[b, :t] = hidden[b, token_pos]
        s = layout.sentence_pos.numel()
        text[b, :s] = hidden[b, layout.sentence_pos]
        text_mask[b, :s] = True
    return HeadInputs(query, frames, text, text_mask, frame_mask=frame_mask)


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
