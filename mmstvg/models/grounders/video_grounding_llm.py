"""The generic grounder: vision encoder -> projector -> queries -> LLM -> heads -> answer."""
from dataclasses import replace
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel

from mmstvg.registry import LLM_BACKBONES, MODELS, QUERY_INTERLEAVERS, VISION_ENCODERS
from mmstvg.structures import GroundingDataSample

from .decoding import answer_lm_loss, greedy_generate
from .frame_heads import FrameHeadsMixin
from .multimodal_sequence import (LLMPass, SequenceBuilder, check_one_query_per_frame,
                                  deepstack_inputs, layout_position_ids, pad_sequences)
from .part_configs import with_default
from .prediction_packing import pack_answers
from .shared_video import (continue_from_prefix, prefill_prefix, shared_prefix_length,
                           sharing_unsupported_reason, video_share_groups)
from .text_parts import TextParts, default_of
from .video_encoding import (VideoFeatures, encode_video_features, encode_videos,
                             frames_per_patch, num_real_frames)

__all__ = ['VideoGroundingLLM']

ForwardResults = Union[Dict[str, torch.Tensor], List[GroundingDataSample], dict]


@MODELS.register_module()
class VideoGroundingLLM(FrameHeadsMixin, BaseModel):
    """A multimodal LLM that answers *when* in text and *where* with a space decoder.

    The paper's model: ``loss`` is the LM cross-entropy on the answer tokens
    (``loss_lm``) plus the space decoder's own losses; ``predict`` runs one
    prompt pass whose states give every frame's box and start greedy
    generation, then the answer coders decode the text. Data flow and the
    sequence: ``docs/en/architecture.md``, ``docs/en/model_core.md``.

    Args:
        vision_encoder: config of a ``VISION_ENCODERS`` part.
        projector: config of a projector (``in_channels`` / ``out_channels``
            filled from the encoder and the LLM when absent).
        llm: config of an ``LLM_BACKBONES`` part.
        query_interleaver: config of a ``QUERY_INTERLEAVERS`` part
            (``embed_dim`` filled in); ``dict(type='NoQueries')`` (also what
            None builds): frames only.
        feature_pooler: config of a ``MODELS`` part pooling the projected
            ``(N, P, D)`` frame tokens (LLaVA-Video's bilinear pooling,
            :class:`LlavaFeaturePooler`); None: no pooling.
        space_decoder: config of a ``SPACE_DECODERS`` part (``hidden_dim``
            filled in); None: no boxes, or boxes from the answer's text.
        heads: configs of further per-frame heads (``MODELS``, ``hidden_dim``
            filled in; a bare type name also works), each reading one state
            per frame and implementing ``forward`` / ``loss`` / ``predict``,
            e.g. SpaceVLLM's ``QuerySpanScoreHead`` ("inside the span"
            scores, ``loss_span_score``, the boxes' ``pred_box_scores``;
            ``projects/spacevllm/spacevllm/addons/``). Each is
            the grounder's attribute named by its ``module_name``
            (:mod:`.frame_heads`).
        logits_processors: configs of processors of the answer's logits, in
            training and generation alike (e.g. SpaceVLLM's
            ``TimeStampPointer``, which needs its ``SnappedSpanAnswer``, both
            in ``projects/spacevllm/spacevllm/addons/``), applied in order.
        frame_state_source: which per-frame states ``heads`` and
            ``logits_processors`` read: ``'llm_queries'`` (the LLM's
            last-layer query states) or ``'space_decoder'`` (the states its
            boxes are decoded from, e.g. the QGSD's guided queries, which
            know the sentence and the frame whatever the prompt order: the
            decoder's ``forward(head_inputs, return_states=True)``). The
            ``heads`` get them as their ``HeadInputs.query``.
        answer: config of the answer (an answer coder in ``TASK_UTILS``, joined
            with the task table into an :class:`AnswerCoderTable`):
            ``SpanAnswer`` (the paper's; a project may add its own, e.g.
            ``SnappedSpanAnswer``), ``SpanAndBoxesAnswer`` (boxes as text), ``MultipleChoiceAnswer``
            (multiple-choice QA beside a grounding answer),
            ``FreeTextAnswer`` (conversations: trained on every assistant
            turn, ``predict`` answers the last question into ``pred_text``).
        prompt: keyword arguments of :class:`PromptBuilder`.
        max_new_tokens: generation budget of ``predict``: an integer >= 1
            (0 would make every answer empty and every prediction fail to
            parse).
        loss_lm_weight: weight of the language loss.
        share_video: in ``predict``, samples of a batch with equal frames
            (the sentences about one video segment, which
            ``SharedVideoBatchSampler`` batches together) have their video
            encoded once and their common prompt prefix run once, each
            sentence continuing from a copy of its key/value cache
            (:mod:`.shared_video`). Exact: the heads and the generation read
            the states they would read alone. Models whose LLM part places
            the video by layout (multimodal RoPE, DeepStack) predict each
            sample alone, said once in the log.
        freeze_parts: names of parts to freeze (any of :attr:`PART_NAMES`),
            besides the parts' own ``freeze`` flags.
        llava_onevision_path: a LLaVA-OneVision / LLaVA-Video directory
            (llava-hf or lmms-lab layout): parts (the projector's type
            included) built from its configs, its weights loaded, then the
            LLM's ``lora`` applied
            (:mod:`mmstvg.models.utils.llava_checkpoints`).
        data_preprocessor: config of the data preprocessor.
        init_cfg: MMEngine init config.
    """

    PART_NAMES = ('vision_encoder', 'projector', 'feature_pooler', 'query_interleaver',
                  'llm', 'space_decoder')

    def __init__(self,
                 vision_encoder: dict,
                 projector: dict,
                 llm: dict,
                 query_interleaver: Optional[dict] = dict(type='NoQueries'),
                 feature_pooler: Optional[dict] = None,
                 space_decoder: Optional[dict] = None,
                 heads: Sequence[Union[dict, str]] = (),
                 logits_processors: Sequence[Union[dict, str]] = (),
                 frame_state_source: str = 'llm_queries',
                 answer: dict = dict(type='SpanAnswer'),
                 prompt: Optional[dict] = None,
                 max_new_tokens: int = 32,
                 loss_lm_weight: float = 1.0,
                 share_video: bool = True,
                 freeze_parts: Sequence[str] = (),
                 llava_onevision_path: Optional[str] = None,
                 data_preprocessor: Optional[dict] = dict(type='GroundingDataPreprocessor'),
                 init_cfg: Optional[dict] = None):
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) \
                or max_new_tokens < 1:
            raise ValueError(
                f'model.max_new_tokens must be an integer >= 1, got '
                f'{max_new_tokens!r}: with no generation budget every answer is '
                'empty and every prediction fails to parse')
        if isinstance(data_preprocessor, dict):
            # Built here so that mmstvg's registry is searched without a default scope.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        lora = None
        if llava_onevision_path is not None:  # parts built from the checkpoint's configs
            from mmstvg.models.utils.llava_checkpoints import (fill_part_configs,
                                                               fill_projector_config)
            vision_encoder, llm, feature_pooler, lora = fill_part_configs(
                llava_onevision_path, vision_encoder, llm, feature_pooler)
            projector = fill_projector_config(llava_onevision_path, projector)
        self.vision_encoder = VISION_ENCODERS.build(vision_encoder)
        self.llm = LLM_BACKBONES.build(llm)
        hidden = self.llm.hidden_size
        self.feature_pooler = (MODELS.build(with_default(feature_pooler, embed_dim=hidden))
                               if feature_pooler is not None else None)
        self.projector = MODELS.build(with_default(
            projector, in_channels=self.vision_encoder.out_channels, out_channels=hidden))
        self.query_interleaver = QUERY_INTERLEAVERS.build(
            with_default(query_interleaver or dict(type='NoQueries'), embed_dim=hidden))
        self.build_frame_heads(space_decoder, heads, logits_processors, frame_state_source,
                               hidden)
        # the same text parts as the data pipeline's TokenizeGroundingPrompt
        self.text_parts = TextParts(self.llm.tokenizer, answer, prompt,
                                    getattr(self.llm, 'use_chat_template', True),
                                    frames_per_patch(self.vision_encoder))
        self.answer = self.text_parts.answer
        self.prompt_builder = self.text_parts.prompt_builder
        self.check_processors()
        parts = self.text_parts
        self.sequence_builder = SequenceBuilder(
            self.prompt_builder, self.answer, parts.frames_per_patch,
            fingerprint=parts.identity, note_fallback=True)
        self.max_new_tokens = max_new_tokens
        self.loss_lm_weight = loss_lm_weight
        self.share_video = share_video
        #: a LastVideoCache for interactive use (the inferencer sets it); None: off
        self.last_video = None
        self._sharing_note_logged = False
        self.freeze(freeze_parts)
        if llava_onevision_path is not None:  # base weights read once, then LoRA on them
            from mmstvg.models.utils.llava_checkpoints import load_llava_weights
            load_llava_weights(self, llava_onevision_path)
            if lora is not None:
                self.llm.apply_lora(lora)

    @classmethod
    def text_config(cls, cfg: dict) -> dict:
        """What the grounder config ``cfg`` (``type`` aside) says about its text,
        without building it: the tokenizer's path and added tokens, the
        answer, the prompt and the frames in one token grid.

        The data pipeline's ``TokenizeGroundingPrompt`` builds the same
        :class:`TextParts` from it as :meth:`__init__` does, with the
        tokenizer the LLM part loads (:func:`load_tokenizer`).
        """
        from mmstvg.registry import VISION_ENCODERS
        llm = dict(cfg['llm'])
        path = cfg.get('llava_onevision_path')
        # fill_part_configs: a LLaVA checkpoint's tokenizer unless one is given
        tokenizer = llm.get('tokenizer') or path or llm.get('pretrained_model_name_or_path')
        if tokenizer is None:
            raise ValueError('the grounder config names no tokenizer (llm.tokenizer, '
                             'llm.pretrained_model_name_or_path or llava_onevision_path)')
        llm_cls = LLM_BACKBONES.get(llm['type'])
        vision = dict(cfg.get('vision_encoder') or {})
        vision_cls = VISION_ENCODERS.get(vision.get('type'))
        per_patch = 1
        if path is None and hasattr(vision_cls, 'config_frames_per_patch'):
            per_patch = vision_cls.config_frames_per_patch(vision)
        return dict(
            tokenizer=tokenizer,
            special_tokens=tuple(llm.get('special_tokens', ())),
            use_chat_template=llm.get('use_chat_template',
                                      default_of(llm_cls, 'use_chat_template')),
            answer=cls.answer_config(cfg),
            prompt=cfg.get('prompt', default_of(cls, 'prompt')),
            frames_per_patch=per_patch)

    @classmethod
    def answer_config(cls, cfg: dict) -> dict:
        """The answer config the grounder config ``cfg`` builds."""
        return cfg.get('answer', default_of(cls, 'answer'))

    @property
    def part_names(self) -> tuple:
        """:attr:`PART_NAMES` and the names of the configured heads and processors."""
        return self.PART_NAMES + tuple(self.head_names) + tuple(self.processor_names)

    def freeze(self, names: Sequence[str]) -> None:
        """Freeze the named parts (any of :attr:`part_names`; absent ones are skipped)."""
        for name in names:
            if name not in self.part_names:
                raise ValueError(f'unknown part {name!r} in freeze_parts; parts are '
                                 f'{self.part_names}')
            part = getattr(self, name, None)
            if part is not None:
                part.requires_grad_(False)

    # ------------------------------------------------------------ stages
    def encode_videos(self, inputs: torch.Tensor,
                      data_samples: Sequence[GroundingDataSample]) -> List[torch.Tensor]:
        """``B`` tensors ``(T_b, P, D)`` of visual tokens (see :func:`encode_videos`)."""
        return encode_videos(self.vision_encoder, self.projector, self.feature_pooler,
                             inputs, data_samples, self.llm.dtype)

    def build_sequences(self, inputs: torch.Tensor,
                        data_samples: Sequence[GroundingDataSample], with_answer: bool):
        """Per-sample embeddings, labels and layouts (not yet padded)."""
        return self._build_sequences(inputs, data_samples, with_answer)[:3]

    def _build_sequences(self, inputs: torch.Tensor,
                         data_samples: Sequence[GroundingDataSample], with_answer: bool):
        """:meth:`build_sequences` and the tower's DeepStack features (or None)."""
        video: VideoFeatures = encode_video_features(
            self.vision_encoder, self.projector, self.feature_pooler, inputs, data_samples,
            self.llm.dtype)
        embeds, labels, layouts = self.sequence_builder.build(
            video.tokens, data_samples, with_answer, self.llm.embed_tokens,
            self.query_interleaver, video.num_frames)
        if video.grids is not None:
            layouts = [replace(layout, frame_grid=grid)
                       for layout, grid in zip(layouts, video.grids)]
        if self.space_decoder is not None:
            check_one_query_per_frame(video.tokens, layouts,
                                      type(self.query_interleaver).__name__)
        return embeds, labels, layouts, video.deepstack

    def run_llm(self, inputs: torch.Tensor, data_samples: Sequence[GroundingDataSample],
                with_answer: bool, side: str, use_cache: bool = False) -> LLMPass:
        """Build, pad (``side``: right to train, left to generate) and run a batch.

        DeepStack features, when the tower gives them, go to the LLM part at
        the visual tokens' positions (:func:`deepstack_inputs`); generation
        steps after the prompt get none (their tokens are text).
        """
        embeds, labels, layouts, deepstack = self._build_sequences(inputs, data_samples,
                                                                   with_answer)
        embeds, mask, labels, offsets = pad_sequences(
            embeds, labels if with_answer else None, side=side)
        positions = layout_position_ids(self.llm, self.vision_encoder, inputs.shape[-2:],
                                        layouts, offsets, mask.shape[1], data_samples)
        extra = ({} if deepstack is None else
                 deepstack_inputs(self.llm, deepstack, layouts, offsets, mask.shape[1]))
        hidden, cache = self.llm(embeds, attention_mask=mask, position_ids=positions,
                                 use_cache=use_cache, **extra)
        return LLMPass(hidden, cache, mask, labels, layouts, offsets, positions)

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
        """Language loss on the answers and the heads' losses."""
        run = self.run_llm(inputs, data_samples, with_answer=True, side='right')
        frames = self.decode_frames(run.hidden, run.layouts, data_samples)
        processor = self.logits_processor(frames, run.layouts, data_samples)
        losses = dict(loss_lm=answer_lm_loss(self.llm, run.hidden, run.labels, processor) *
                      self.loss_lm_weight)
        losses.update(self.head_losses(frames, data_samples))
        return losses

    def _forward(self, inputs: torch.Tensor,
                 data_samples: Sequence[GroundingDataSample]) -> dict:
        """Prompt-only forward: hidden states, mask, layouts and normalised boxes."""
        run = self.run_llm(inputs, data_samples, with_answer=False, side='right')
        boxes = self.decode_frames(run.hidden, run.layouts, data_samples).boxes
        return dict(hidden_states=run.hidden, attention_mask=run.mask, layouts=run.layouts,
                    pred_boxes=boxes)

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Sequence[GroundingDataSample]) -> List[GroundingDataSample]:
        """Generate the answer, parse it and decode every frame's box.

        One prompt pass gives the states of the queries, frames and sentence
        (the heads read them) and starts generation. With ``share_video``,
        samples with equal frames share their video and prompt prefix
        (:meth:`_predict_shared`); the others are predicted together as a
        batch.
        """
        groups, can_share = self._share_groups(inputs, data_samples)
        # with a LastVideoCache, a single sentence also goes the shared way
        shared = [g for g in groups
                  if can_share and (len(g) > 1 or self.last_video is not None)]
        if not shared:
            return self._predict_batch(inputs, data_samples)
        alone = [g[0] for g in groups if not any(g is s for s in shared)]
        if alone:
            self._predict_batch(inputs[alone], [data_samples[i] for i in alone])
        for group in shared:  # equal frames: the first sample's stand for all
            self._predict_shared(inputs[group[0]][None], [data_samples[i] for i in group])
        return list(data_samples)

    def _share_groups(self, inputs: torch.Tensor, data_samples: Sequence[GroundingDataSample]):
        """The batch's groups of samples with equal frames, and whether they may share.

        Returns:
            ``(groups, can_share)``: lists of batch indices; ``can_share``
            False (all groups singletons) when sharing is off or unsupported.
        """
        singletons = [[i] for i in range(len(data_samples))]
        if not self.share_video:
            return singletons, False
        reason = sharing_unsupported_reason(self.llm, self.vision_encoder)
        if reason is None and self.prompt_builder.sentence_first:
            reason = ('the prompt puts the sentence before the video (sentence_first), '
                      'so sentences share no prefix')
        if reason is not None:
            if len(data_samples) > 1 or self.last_video is not None:
                self._log_sharing_once(
                    f'share_video: each sentence is predicted alone: {reason}')
            return singletons, False
        return video_share_groups(inputs, data_samples), True

    def _log_sharing_once(self, message: str) -> None:
        if not self._sharing_note_logged:
            from mmengine.logging import print_log
            print_log(message, logger='current')
            self._sharing_note_logged = True

    def _predict_batch(self, inputs: torch.Tensor,
                       data_samples: Sequence[GroundingDataSample]) -> List[GroundingDataSample]:
        """Each sample's own prompt pass, the batch left-padded."""
        run = self.run_llm(inputs, data_samples, with_answer=False, side='left',
                           use_cache=True)
        shifted = [layout.shifted(off) for layout, off in zip(run.layouts, run.offsets)]
        return self._answer(run, shifted, data_samples)

    def _predict_shared(self, inputs: torch.Tensor,
                        data_samples: Sequence[GroundingDataSample]) -> List[GroundingDataSample]:
        """Samples with equal frames: one video encoding, one prefix pass.

        ``inputs`` holds their frames once, ``(1, T, 3, H, W)``. Falls back to
        :meth:`_predict_batch` (said once in the log) when the common prefix
        does not hold the video (the sentence comes first).
        """
        last = self.last_video
        video_tokens = None if last is None else last.tokens_for(inputs[0])
        if video_tokens is None:
            video_tokens = encode_video_features(
                self.vision_encoder, self.projector, self.feature_pooler, inputs[:1],
                data_samples[:1], self.llm.dtype, with_deepstack=False).tokens[0]
        tokens = [video_tokens] * len(data_samples)
        counts = [num_real_frames(inputs[:1], sample) for sample in data_samples]
        embeds, _, layouts = self.sequence_builder.build(
            tokens, data_samples, False, self.llm.embed_tokens, self.query_interleaver,
            counts)
        if self.space_decoder is not None:
            check_one_query_per_frame(tokens, layouts, type(self.query_interleaver).__name__)
        prefix_len = shared_prefix_length(embeds, layouts)
        if prefix_len is None:
            self._log_sharing_once('share_video: the prompt puts the sentence before the '
                                   'video, so sentences share no prefix; each is '
                                   'predicted alone')
            return self._predict_batch(inputs.expand(len(data_samples), *inputs.shape[1:]),
                                       data_samples)
        prefix = embeds[0][:prefix_len]
        state = None if last is None else last.prefix_for(inputs[0], prefix)
        if state is None:
            state = prefill_prefix(self.llm, prefix)
            if last is not None:
                last.store(inputs[0], video_tokens, prefix, *state)
        run = continue_from_prefix(self.llm, *state, embeds, layouts, prefix_len)
        return self._answer(run, run.layouts, data_samples)

    def _answer(self, run: LLMPass, layouts,
                data_samples: Sequence[GroundingDataSample]) -> List[GroundingDataSample]:
        """Heads, generation and parsing after a prompt pass (``layouts`` in its rows)."""
        active = [self.answer.generates_text(s) for s in data_samples]
        frames = self.decode_frames(run.hidden, layouts, data_samples)
        processor = self.logits_processor(frames, layouts, data_samples)
        token_ids = greedy_generate(
            self.llm, run.hidden, run.cache, run.mask, active, self.max_new_tokens, processor,
            stop_token_ids=self.llm.stop_token_ids | self.prompt_builder.stop_token_ids,
            position_ids=run.positions)
        texts = [self.llm.decode(ids) if on else '' for ids, on in zip(token_ids, active)]
        pack_answers(data_samples, texts, self.answer, text_boxes=self.space_decoder is None)
        self.predict_heads(frames, data_samples)
        return list(data_samples)
