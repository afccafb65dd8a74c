"""The generic grounder: vision encoder -> projector -> queries -> LLM -> space decoder."""
import copy
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModel

from mmstvg.models.language.prompt_builder import PromptBuilder
from mmstvg.models.language.span_text import parse_span
from mmstvg.models.query_interleavers.appended_queries import NoQueries
from mmstvg.models.space_decoders.query_span_score_head import span_targets
from mmstvg.registry import (LLM_BACKBONES, MODELS, QUERY_INTERLEAVERS, SPACE_DECODERS,
                             VISION_ENCODERS)
from mmstvg.structures import (GroundingDataSample, denormalize_boxes, frames_in_span,
                               normalize_boxes, seconds_to_frames)

from .multimodal_sequence import (IGNORE_INDEX, SequenceLayout, assemble_sequence,
                                  pad_sequences)

__all__ = ['VideoGroundingLLM']

ForwardResults = Union[Dict[str, torch.Tensor], List[GroundingDataSample], dict]


def _with_default(cfg: Optional[dict], **defaults) -> Optional[dict]:
    if cfg is None:
        return None
    cfg = copy.deepcopy(dict(cfg))
    for key, value in defaults.items():
        cfg.setdefault(key, value)
    return cfg


@MODELS.register_module()
class VideoGroundingLLM(BaseModel):
    """A multimodal LLM that answers *when* in text and *where* with a box head.

    Each sample's sequence (see ``docs/en/model_core.md``)::

        [system + user prompt stating the frame times]
        [video segment: per frame [time stamp][visual tokens], queries placed
         by the query interleaver]
        [question with the sentence] [assistant turn] [answer + EOS]

    ``loss``: the LM cross-entropy on the answer tokens only (``loss_lm``; with
    a time pointer, on the pointer-augmented logits) plus the space decoder's
    ``loss_bbox`` / ``loss_iou`` on ground-truth frames and a frame score
    head's ``loss_span_score``.
    ``predict``: greedy generation of the answer, parsing of its span, and
    the boxes of every sampled frame from the hidden states of the *same*
    prompt forward pass that starts generation (queries, frames and sentence
    all precede the answer, so causal attention makes these states identical
    to those of a pass over prompt + answer): one LLM pass for all boxes.

    Args:
        vision_encoder: config of a ``VISION_ENCODERS`` part.
        projector: config of a projector (``in_channels`` / ``out_channels``
            filled from the encoder and the LLM when absent).
        llm: config of an ``LLM_BACKBONES`` part.
        query_interleaver: config of a ``QUERY_INTERLEAVERS`` part
            (``embed_dim`` filled in); None: frames only, no queries.
        space_decoder: config of a ``SPACE_DECODERS`` part (``hidden_dim``
            filled in); None: no boxes (TVG-only or text-box models).
        frame_score_head: config of a head that scores each frame's query
            state "inside the span" (e.g. :class:`QuerySpanScoreHead`,
            ``hidden_dim`` filled in), trained on every sampled frame; its
            sigmoid is the boxes' ``pred_box_scores``. None: no such head,
            every box scores 1 (the paper's model).
        time_pointer: config of a copy head for the answer's times (e.g.
            :class:`TimeStampPointer`, ``hidden_dim`` filled in): it points from
            the answer states at frame boundaries described by the frame states
            (see ``frame_state_source``) and adds to the logits of the
            boundaries' time tokens, in training and generation alike. Needs
            ``prompt=dict(answer_times='sampled_frames')`` and one token per
            time. None: the LM head alone writes the times (the paper's model).
        frame_state_source: which per-frame states the frame score head and
            the time pointer read: ``'llm_queries'`` (the LLM's last-layer query
            states) or ``'space_decoder'`` (the states the space decoder decodes
            boxes from, see ``BaseSpaceDecoder.forward_with_states``; the
            QGSD's guided queries know the sentence and the frame whatever the
            prompt order).
        prompt: keyword arguments of :class:`PromptBuilder`
            (``time_style``, ``time_format``, ``span_precision``, ``prompts``).
        max_new_tokens: generation budget of ``predict``.
        loss_lm_weight: weight of the language loss.
        freeze_parts: names of parts to freeze (any of :attr:`PART_NAMES`),
            besides the parts' own ``freeze`` flags.
        llava_onevision_path: a LLaVA-OneVision / LLaVA-Video checkpoint
            directory (llava-hf or lmms-lab ``llava_qwen`` layout): the tower,
            LLM and pooler are built from its configs, its weights loaded, and
            the LLM's ``lora`` applied after (see
            :mod:`mmstvg.models.utils.llava_checkpoints`).
        feature_pooler: config of a part that pools each frame's projected
            tokens ``(N, P, D)`` (e.g. :class:`LlavaFeaturePooler`, LLaVA-Video's
            project-then-pool order; ``embed_dim`` filled in). None: none.
        data_preprocessor: config of the data preprocessor.
        init_cfg: MMEngine init config.
    """

    PART_NAMES = ('vision_encoder', 'projector', 'query_interleaver', 'llm',
                  'space_decoder', 'frame_score_head', 'time_pointer')
    FRAME_STATE_SOURCES = ('llm_queries', 'space_decoder')

    def __init__(self,
                 vision_encoder: dict,
                 projector: dict,
                 llm: dict,
                 query_interleaver: Optional[dict] = None,
                 space_decoder: Optional[dict] = None,
                 frame_score_head: Optional[dict] = None,
                 time_pointer: Optional[dict] = None,
                 frame_state_source: str = 'llm_queries',
                 prompt: Optional[dict] = None,
                 max_new_tokens: int = 32,
                 loss_lm_weight: float = 1.0,
                 freeze_parts: Sequence[str] = (),
                 llava_onevision_path: Optional[str] = None,
                 feature_pooler: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = dict(type='GroundingDataPreprocessor'),
                 init_cfg: Optional[dict] = None):
        if isinstance(data_preprocessor, dict):
            # Built here so that mmstvg's registry is searched without a default scope.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        lora = None
        if llava_onevision_path is not None:  # parts built from the checkpoint's configs
            from mmstvg.models.utils.llava_checkpoints import fill_part_configs
            vision_encoder, llm, feature_pooler, lora = fill_part_configs(
                llava_onevision_path, vision_encoder, llm, feature_pooler)
        self.vision_encoder = VISION_ENCODERS.build(vision_encoder)
        self.llm = LLM_BACKBONES.build(llm)
        hidden = self.llm.hidden_size
        self.feature_pooler = (MODELS.build(_with_default(feature_pooler, embed_dim=hidden))
                               if feature_pooler is not None else None)
        self.projector = MODELS.build(_with_default(
            projector, in_channels=self.vision_encoder.out_channels, out_channels=hidden))
        self.query_interleaver = (QUERY_INTERLEAVERS.build(
            _with_default(query_interleaver, embed_dim=hidden))
                                  if query_interleaver is not None else None)
        self._frames_only = NoQueries(embed_dim=hidden)
        self.space_decoder = (SPACE_DECODERS.build(
            _with_default(space_decoder, hidden_dim=hidden))
                              if space_decoder is not None else None)
        self.frame_score_head = (MODELS.build(
            _with_default(frame_score_head, hidden_dim=hidden))
                                 if frame_score_head is not None else None)
        self.time_pointer = (MODELS.build(_with_default(time_pointer, hidden_dim=hidden))
                             if time_pointer is not None else None)
        for name in ('space_decoder', 'frame_score_head', 'time_pointer'):
            if getattr(self, name) is not None and self.query_interleaver is None:
                raise ValueError(f'a {name} reads query states: give a '
                                 'query_interleaver too')
        if frame_state_source not in self.FRAME_STATE_SOURCES:
            raise ValueError(f'frame_state_source must be one of {self.FRAME_STATE_SOURCES}, '
                             f'got {frame_state_source!r}')
        if frame_state_source == 'space_decoder' and self.space_decoder is None:
            raise ValueError("frame_state_source='space_decoder' needs a space_decoder")
        self.frame_state_source = frame_state_source
        prompt = dict(prompt or {})
        prompt.setdefault('use_chat_template', getattr(self.llm, 'use_chat_template', True))
        self.prompt_builder = PromptBuilder(self.llm.tokenizer, **prompt)
        if self.time_pointer is not None:
            if self.prompt_builder.answer_times != 'sampled_frames':
                raise ValueError('a time_pointer points at the shown frame times: '
                                 "use prompt=dict(answer_times='sampled_frames')")
            self.prompt_builder.boundary_time_ids([1.0], 2.0)  # one token per time?
        self.max_new_tokens = max_new_tokens
        self.loss_lm_weight = loss_lm_weight
        self.num_predictions = 0
        self.num_parse_failures = 0
        for name in freeze_parts:
            if name not in self.PART_NAMES:
                raise ValueError(f'unknown part {name!r} in freeze_parts; parts are '
                                 f'{self.PART_NAMES}')
            part = getattr(self, name)
            if part is not None:
                part.requires_grad_(False)
        if llava_onevision_path is not None:  # weights once, then LoRA on them
            from mmstvg.models.utils.llava_checkpoints import load_llava_weights
            load_llava_weights(self, llava_onevision_path)
            if lora is not None:
                self.llm.apply_lora(lora)

    # ------------------------------------------------------------ building
    def encode_videos(self, inputs: torch.Tensor,
                      data_samples: Sequence[GroundingDataSample]) -> List[torch.Tensor]:
        """Frames -> projected visual tokens, per sample.

        Args:
            inputs: ``(B, T_max, 3, H, W)`` from the data preprocessor.
            data_samples: the batch's samples (their real frame counts).

        Returns:
            ``B`` tensors ``(T_b, P, D)`` in the LLM's dtype.
        """
        if inputs.dim() != 5:
            raise ValueError(f'inputs must be (B, T, 3, H, W), got {tuple(inputs.shape)}')
        counts = [self._num_frames(inputs, s) for s in data_samples]
        frames = torch.cat([inputs[b, :t] for b, t in enumerate(counts)], dim=0)
        tokens = self.projector(self.vision_encoder(frames))
        if self.feature_pooler is not None:  # LLaVA-Video: project, then pool
            patch = self.vision_encoder.patch_size
            tokens = self.feature_pooler(tokens, (frames.shape[-2] // patch,
                                                  frames.shape[-1] // patch))
        tokens = tokens.to(self.llm.dtype)
        return list(tokens.split(counts, dim=0))

    @staticmethod
    def _num_frames(inputs: torch.Tensor, sample: GroundingDataSample) -> int:
        if 'frame_inds' not in sample.metainfo:
            return inputs.shape[1]
        num = sample.num_sampled_frames
        if num > inputs.shape[1]:
            raise ValueError(f"sample {sample.metainfo.get('video_id')!r} has {num} "
                             f'frame_inds but the batch holds {inputs.shape[1]} frames')
        return num

    def _lay_out_video(self, visual_tokens, frame_prefix_embeds):
        interleaver = self.query_interleaver or self._frames_only
        return interleaver(visual_tokens, frame_prefix_embeds)

    def _pieces(self, sample: GroundingDataSample, num_frames: int, with_answer: bool):
        meta = sample.metainfo
        for key in ('task', 'sentence'):
            if key not in meta:
                raise KeyError(f"data sample {meta.get('video_id')!r} has no {key!r}")
        times, duration = self._times_and_duration(sample, num_frames)
        span = None
        if with_answer and meta['task'] != 'rec':
            if 'gt_span_seconds' not in sample:
                raise KeyError(f"data sample {meta.get('video_id')!r} "
                               f"(task {meta['task']}) has no gt_span_seconds")
            span = sample.gt_span_seconds.tolist()
        answer = self.answer_text(sample) if with_answer else None
        return self.prompt_builder.build(meta['task'], meta['sentence'], duration,
                                         list(times), span_seconds=span,
                                         with_answer=with_answer, answer=answer,
                                         question_template=meta.get('prompt_template'))

    @staticmethod
    def _times_and_duration(sample: GroundingDataSample, num_frames: int):
        """The sampled frames' times (zeros when unknown) and the duration."""
        times = sample.metainfo.get('frame_times')
        if times is None:
            times = np.zeros(num_frames)
        times = list(times)
        duration = float(sample.metainfo.get('duration', times[-1] if times else 0.0))
        return times, duration

    def answer_text(self, sample: GroundingDataSample) -> Optional[str]:
        """The training answer of a sample; None: the prompt builder's default
        (the span sentence, or the fixed REC phrase). Subclasses that write more
        (e.g. boxes as text) override it."""
        return None

    def boxes_from_text(self, sample: GroundingDataSample,
                        text: str) -> Optional[torch.Tensor]:
        """Per-frame normalised ``cxcywh`` boxes read from generated text, for
        grounders without a space decoder; None here (no boxes in the text)."""
        return None

    def build_sequences(self, inputs: torch.Tensor,
                        data_samples: Sequence[GroundingDataSample],
                        with_answer: bool):
        """Per-sample embeddings, labels and layouts (not yet padded)."""
        video_tokens = self.encode_videos(inputs, data_samples)
        embeds, labels, layouts = [], [], []
        for tokens, sample in zip(video_tokens, data_samples):
            pieces = self._pieces(sample, tokens.shape[0], with_answer)
            seq, lab, layout = assemble_sequence(pieces, tokens, self.llm.embed_tokens,
                                                 self._lay_out_video)
            if self.space_decoder is not None and layout.query_pos.numel() != tokens.shape[0]:
                raise ValueError(f'the query interleaver placed {layout.query_pos.numel()} '
                                 f'queries for {tokens.shape[0]} frames; the space '
                                 'decoder needs one query per frame')
            embeds.append(seq)
            labels.append(lab)
            layouts.append(layout)
        return embeds, labels, layouts

    # ------------------------------------------------------------ heads
    def _decoder_inputs(self, hidden: torch.Tensor, layouts: Sequence[SequenceLayout]):
        batch, device = len(layouts), hidden.device
        max_t = max(l.frame_token_pos.shape[0] for l in layouts)
        num_tokens = layouts[0].frame_token_pos.shape[1]
        max_s = max(max(l.sentence_pos.numel() for l in layouts), 1)
        dim = hidden.shape[-1]
        query = hidden.new_zeros(batch, max_t, dim)
        frames = hidden.new_zeros(batch, max_t, num_tokens, dim)
        text = hidden.new_zeros(batch, max_s, dim)
        text_mask = torch.zeros(batch, max_s, dtype=torch.bool, device=device)
        for b, layout in enumerate(layouts):
            t = layout.frame_token_pos.shape[0]
            query[b, :t] = hidden[b, layout.query_pos]
            frames[b, :t] = hidden[b, layout.frame_token_pos]
            s = layout.sentence_pos.numel()
            text[b, :s] = hidden[b, layout.sentence_pos]
            text_mask[b, :s] = True
        return query, frames, text, text_mask

    @property
    def has_frame_heads(self) -> bool:
        """Whether any part reads the per-frame states (boxes, scores, pointer)."""
        return any(part is not None for part in
                   (self.space_decoder, self.frame_score_head, self.time_pointer))

    def _frame_heads(self, hidden: torch.Tensor, layouts: Sequence[SequenceLayout]):
        """The space decoder's boxes (or None) and the frame states other heads read."""
        decoder_inputs = self._decoder_inputs(hidden, layouts)
        boxes, states = None, decoder_inputs[0]
        if self.space_decoder is not None:
            boxes, decoder_states = self.space_decoder.forward_with_states(*decoder_inputs)
            if self.frame_state_source == 'space_decoder':
                states = decoder_states
        return boxes, states

    def _time_pointer_inputs(self, frame_states: torch.Tensor,
                             layouts: Sequence[SequenceLayout],
                             data_samples: Sequence[GroundingDataSample]):
        """Boundary keys, time token ids ``(B, T_max + 1)`` and validity."""
        counts = [layout.query_pos.numel() for layout in layouts]
        keys, valid = self.time_pointer.boundary_keys(frame_states, counts)
        ids = torch.full(valid.shape, -1, dtype=torch.long)
        for b, (sample, count) in enumerate(zip(data_samples, counts)):
            times, duration = self._times_and_duration(sample, count)
            if len(times) != count:
                raise ValueError(f"sample {sample.metainfo.get('video_id')!r} has "
                                 f'{len(times)} frame_times for {count} queries')
            ids[b, :count + 1] = torch.tensor(
                self.prompt_builder.boundary_time_ids(times, duration))
        return keys, ids.to(keys.device), valid

    @staticmethod
    def _box_targets(data_samples, max_t: int, device):
        targets = torch.zeros(len(data_samples), max_t, 4, device=device)
        mask = torch.zeros(len(data_samples), max_t, dtype=torch.bool, device=device)
        for b, sample in enumerate(data_samples):
            if 'gt_boxes' not in sample or 'gt_box_mask' not in sample:
                continue
            if 'ori_shape' not in sample.metainfo:
                raise KeyError(f"data sample {sample.metainfo.get('video_id')!r} has "
                               'gt_boxes but no ori_shape')
            boxes = sample.gt_boxes.to(device).float()
            t = boxes.shape[0]
            targets[b, :t] = normalize_boxes(boxes, sample.metainfo['ori_shape'])
            mask[b, :t] = sample.gt_box_mask.to(device).bool()
        return targets, mask

    def lm_loss(self, hidden: torch.Tensor, labels: torch.Tensor,
                pointer_inputs: Optional[tuple] = None) -> torch.Tensor:
        """Next-token cross-entropy on labelled positions only (mean over tokens).

        ``pointer_inputs``: the time pointer's ``(keys, ids, valid)`` per sample
        (see :meth:`_time_pointer_inputs`); None: the LM head alone.
        """
        targets = labels[:, 1:]
        selected = targets != IGNORE_INDEX
        if not selected.any():
            return hidden.sum() * 0
        states = hidden[:, :-1][selected]
        logits = self.llm.logits(states)
        if pointer_inputs is not None:
            rows = selected.nonzero()[:, 0]
            keys, ids, valid = pointer_inputs
            logits = self.time_pointer(logits, states, keys[rows], ids[rows], valid[rows])
        return F.cross_entropy(logits, targets[selected])

    # ------------------------------------------------------------ modes
    def forward(self, inputs: torch.Tensor, data_samples=None,
                mode: str = 'tensor') -> ForwardResults:
        """``mode``: ``'loss'`` -> loss dict, ``'predict'`` -> data samples with
        predictions, ``'tensor'`` -> raw outputs (see :meth:`_forward`)."""
        if data_samples is None:
            raise ValueError('VideoGroundingLLM needs data_samples (prompt, times)')
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'invalid mode {mode!r}; use loss, predict or tensor')

    def loss(self, inputs: torch.Tensor,
             data_samples: Sequence[GroundingDataSample]) -> Dict[str, torch.Tensor]:
        """Language loss on the answers and box losses on ground-truth frames."""
        embeds, labels, layouts = self.build_sequences(inputs, data_samples, True)
        embeds, mask, labels, _ = pad_sequences(embeds, labels, side='right')
        hidden, _ = self.llm(embeds, attention_mask=mask)
        pred_boxes = states = pointer_inputs = None
        if self.has_frame_heads:
            pred_boxes, states = self._frame_heads(hidden, layouts)
        if self.time_pointer is not None:
            pointer_inputs = self._time_pointer_inputs(states, layouts, data_samples)
        losses = dict(loss_lm=self.lm_loss(hidden, labels, pointer_inputs) *
                      self.loss_lm_weight)
        if pred_boxes is not None:
            targets, box_mask = self._box_targets(data_samples, pred_boxes.shape[1],
                                                  pred_boxes.device)
            losses.update(self.space_decoder.loss(pred_boxes, targets, box_mask))
        if self.frame_score_head is not None:
            logits = self.frame_score_head(states)
            targets, valid = span_targets(data_samples, logits.shape[1], logits.device)
            losses.update(self.frame_score_head.loss(logits, targets, valid))
        return losses

    def _forward(self, inputs: torch.Tensor,
                 data_samples: Sequence[GroundingDataSample]) -> dict:
        """Prompt-only forward: hidden states, mask, layouts and normalised boxes."""
        embeds, _, layouts = self.build_sequences(inputs, data_samples, False)
        embeds, mask, _, _ = pad_sequences(embeds, side='right')
        hidden, _ = self.llm(embeds, attention_mask=mask)
        boxes = None
        if self.space_decoder is not None:
            boxes = self._frame_heads(hidden, layouts)[0]
        return dict(hidden_states=hidden, attention_mask=mask, layouts=layouts,
                    pred_boxes=boxes)

    @torch.no_grad()
    def generate(self, prompt_hidden: torch.Tensor, cache, mask: torch.Tensor,
                 active: Sequence[bool],
                 pointer_inputs: Optional[tuple] = None) -> List[List[int]]:
        """Greedy decoding after the prompt pass (left padded).

        Args:
            prompt_hidden: ``(B, L, D)`` last-layer states of the prompt pass.
            cache: its key/value cache.
            mask: ``(B, L)`` its attention mask.
            active: which samples generate text (REC samples do not).
            pointer_inputs: the time pointer's ``(keys, ids, valid)`` (see
                :meth:`_time_pointer_inputs`), read at every step; None: the
                LM head alone.

        Returns:
            The generated ids of each sample, EOS excluded.
        """
        finished = torch.tensor([not a for a in active], device=prompt_hidden.device)
        outputs: List[List[int]] = [[] for _ in active]
        positions = mask.sum(-1, keepdim=True) - 1
        last = prompt_hidden[:, -1]
        eos = self.llm.eos_token_id
        for _ in range(self.max_new_tokens):
            if bool(finished.all()):
                break
            logits = self.llm.logits(last)
            if pointer_inputs is not None:
                logits = self.time_pointer(logits, last, *pointer_inputs)
            next_ids = logits.argmax(-1)
            next_ids = torch.where(finished, torch.full_like(next_ids, eos), next_ids)
            for b, token in enumerate(next_ids.tolist()):
                if not finished[b] and token != eos:
                    outputs[b].append(token)
            finished = finished | (next_ids == eos)
            if bool(finished.all()):
                break
            mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
            positions = positions + 1
            step = self.llm.embed_tokens(next_ids)[:, None]
            hidden, cache = self.llm(step, attention_mask=mask, position_ids=positions,
                                     past_key_values=cache, use_cache=True)
            last = hidden[:, -1]
        return outputs

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Sequence[GroundingDataSample]) -> List[GroundingDataSample]:
        """Generate the temporal answer, parse it and decode every frame's box.

        One prompt pass gives the states of the queries, frames and sentence
        (the boxes, scores and time pointer read them) and starts generation.
        """
        embeds, _, layouts = self.build_sequences(inputs, data_samples, False)
        active = [self.generates_text(s) for s in data_samples]
        batch, mask, _, offsets = pad_sequences(embeds, side='left')
        hidden, cache = self.llm(batch, attention_mask=mask, use_cache=True)
        boxes = scores = pointer_inputs = None
        if self.has_frame_heads:
            shifted = [layout.shifted(off) for layout, off in zip(layouts, offsets)]
            boxes, states = self._frame_heads(hidden, shifted)
            if boxes is not None:
                boxes = boxes.float()
            if self.frame_score_head is not None:
                scores = self.frame_score_head(states).sigmoid()
            if self.time_pointer is not None:
                pointer_inputs = self._time_pointer_inputs(states, shifted, data_samples)
        token_ids = self.generate(hidden, cache, mask, active, pointer_inputs)
        for b, sample in enumerate(data_samples):
            text = self.llm.decode(token_ids[b]) if active[b] else ''
            sample_boxes = (boxes[b] if boxes is not None else
                            self.boxes_from_text(sample, text))
            self._fill_prediction(sample, text, sample_boxes,
                                  None if scores is None else scores[b])
        return list(data_samples)

    def generates_text(self, sample: GroundingDataSample) -> bool:
        """Whether ``predict`` decodes text for a sample: not for REC, whose
        box comes from its query and whose answer is a fixed phrase."""
        return sample.metainfo['task'] != 'rec'

    def _parse(self, sample: GroundingDataSample, text: str) -> Optional[Tuple[float, float]]:
        """The answer's span in seconds, clipped to the video; None if malformed.

        A REC sample's "span" is the whole image. A missing ``from X to Y``,
        or an end before the start, is a parse failure: counted in
        :attr:`num_parse_failures`, logged, and scored as an empty span.
        """
        meta = sample.metainfo
        if meta['task'] == 'rec':
            return 0.0, float(meta.get('duration', 1.0))
        span = parse_span(text)
        if span is None or span[1] < span[0]:
            self.num_parse_failures += 1
            # The first failures one by one, then every 100th, so a long
            # evaluation of an untrained model does not flood the log.
            if self.num_parse_failures <= 10 or self.num_parse_failures % 100 == 0:
                print_log(f"unparsable answer for {meta.get('video_id')!r}: "
                          f'{text[:80]!r} ({self.num_parse_failures} failures in '
                          f'{self.num_predictions} predictions so far)',
                          logger='current', level=logging.WARNING)
            return None
        duration = float(meta.get('duration', span[1]))
        return min(max(span[0], 0.0), duration), min(max(span[1], 0.0), duration)

    def _fill_prediction(self, sample: GroundingDataSample, text: str,
                         boxes: Optional[torch.Tensor],
                         box_scores: Optional[torch.Tensor] = None) -> None:
        """Set the ``pred_*`` fields of one data sample.

        ``box_scores``: per sampled frame, the frame score head's probability;
        None: every box scores 1.
        """
        meta = sample.metainfo
        self.num_predictions += 1
        span = self._parse(sample, text)
        sample.pred_text = text
        sample.pred_parse_ok = span is not None
        if span is None:
            span, span_frames = (0.0, 0.0), (0, 0)
        elif meta['task'] == 'rec':
            span_frames = (0, int(meta.get('num_frames', 1)))
        else:
            span_frames = seconds_to_frames(span, float(meta['fps']),
                                            int(meta['num_frames']))
        sample.pred_span_frames = torch.tensor(span_frames, dtype=torch.long)
        sample.pred_span_seconds = torch.tensor(span, dtype=torch.float32)
        if boxes is None or meta['task'] == 'tvg':
            return
        num_frames = sample.num_sampled_frames
        frame_inds = np.asarray(meta['frame_inds'])
        sample.pred_boxes = denormalize_boxes(boxes[:num_frames],
                                              meta['ori_shape']).cpu()
        # Without a frame score head the boxes have no confidence: each scores 1.
        sample.pred_box_scores = (torch.ones(num_frames) if box_scores is None else
                                  box_scores[:num_frames].float().cpu())
        sample.pred_box_mask = torch.from_numpy(frames_in_span(frame_inds, span_frames))
