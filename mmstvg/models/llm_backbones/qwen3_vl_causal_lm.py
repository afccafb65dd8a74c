"""The language side of Qwen3-VL: its LLM with interleaved M-RoPE and DeepStack inputs."""
from typing import List, Optional, Sequence, Tuple

import torch

from mmstvg.registry import LLM_BACKBONES

from .hf_causal_lm import HFCausalLM
from .multimodal_rope import batch_position_ids, qwen3_vl_position_ids

__all__ = ['Qwen3VLCausalLM']


@LLM_BACKBONES.register_module()
class Qwen3VLCausalLM(HFCausalLM):
    """Qwen3-VL's language model and LM head, positioned by its multimodal RoPE.

    Loads a ``Qwen3VLForConditionalGeneration`` checkpoint (its vision tower is
    dropped after loading: :class:`QwenVLVisionEncoder` reads it). The
    rotary embedding is transformers' own (interleaved M-RoPE: the
    ``mrope_section`` frequencies of time, height and width alternate across
    the head); the grounder gets the ``(3, B, L)`` position ids of a batch
    from the samples' ``SequenceLayout`` (:meth:`layout_position_ids`, one
    position block per frame, :func:`qwen3_vl_position_ids`).

    DeepStack: :meth:`forward` takes the tower's per-layer merged features
    and the mask of the visual tokens' positions; the decoder adds level
    ``k`` to those positions' states after its layer ``k``, as
    ``Qwen3VLModel`` does (the grounder builds both with
    :func:`~mmstvg.models.grounders.multimodal_sequence.deepstack_inputs`).
    Every option of :class:`HFCausalLM` applies.

    Args:
        **kwargs: :class:`HFCausalLM`'s arguments.
    """

    auto_model_class = 'AutoModelForImageTextToText'
    #: the grounder hands this part the vision tower's DeepStack features
    takes_deepstack = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        inner = self.hf_model.model
        if getattr(inner, 'visual', None) is not None:
            inner.visual = None  # the vision part holds the tower

    @property
    def num_deepstack_layers(self) -> Optional[int]:
        """How many DeepStack levels the checkpoint injects (None: unknown)."""
        vision = getattr(self.hf_model.config, 'vision_config', None)
        indexes = getattr(vision, 'deepstack_visual_indexes', None)
        return None if indexes is None else len(indexes)

    def forward(self,
                inputs_embeds: torch.Tensor,
                attention_mask: Optional[torch.Tensor] = None,
                position_ids: Optional[torch.Tensor] = None,
                past_key_values=None,
                use_cache: bool = False,
                visual_pos_masks: Optional[torch.Tensor] = None,
                deepstack_visual_embeds: Optional[List[torch.Tensor]] = None
                ) -> Tuple[torch.Tensor, object]:
        """Run the transformer on embeddings, DeepStack features added.

        Args:
            inputs_embeds: ``(B, L, D)``.
            attention_mask: ``(B, L_past + L)`` 1 on real tokens, 0 on padding.
            position_ids: ``(3, B, L)`` from :meth:`layout_position_ids`.
            past_key_values: a KV cache from a previous call.
            use_cache: return the updated KV cache.
            visual_pos_masks: ``(B, L)`` bool, the visual tokens' positions.
            deepstack_visual_embeds: one ``(M, D)`` tensor a DeepStack level,
                ``M = visual_pos_masks.sum()``, rows in the mask's order
                (batch-major, then position). None with the mask: the prompt
                has no visual tokens (or generation steps after it).

        Returns:
            ``(hidden_states, past_key_values)`` as :meth:`HFCausalLM.forward`.
        """
        extra = {}
        if deepstack_visual_embeds is not None:
            if visual_pos_masks is None:
                raise ValueError('deepstack_visual_embeds need visual_pos_masks')
            count = int(visual_pos_masks.sum())
            for level, embeds in enumerate(deepstack_visual_embeds):
                if embeds.shape[0] != count:
                    raise ValueError(f'DeepStack level {level} has {embeds.shape[0]} rows '
                                     f'for {count} visual positions')
            extra = dict(visual_pos_masks=visual_pos_masks,
                         deepstack_visual_embeds=list(deepstack_visual_embeds))
        return super().forward(inputs_embeds, attention_mask=attention_mask,
                               position_ids=position_ids, past_key_values=past_key_values,
                               use_cache=use_cache, **extra)

    def layout_position_ids(self, layouts: Sequence, offsets: Sequence[int], length: int,
                            frame_grid: Sequence[int],
                            frame_times: Sequence[Sequence[float]],
                            second_per_grid=None) -> torch.Tensor:
        """The batch's ``(3, B, length)`` position ids.

        Args:
            layouts: each sample's :class:`SequenceLayout` (before padding).
            offsets: each sample's left padding in the batch.
            length: the padded length.
            frame_grid: ``(rows, cols)`` merged token grid of a frame.
            frame_times: each sample's frame times (unused: Qwen3-VL's times
                are the ``<t seconds>`` text, not positions).
            second_per_grid: unused, likewise.
        """
        per_sample = [qwen3_vl_position_ids(layout.frame_token_pos, layout.length, frame_grid)
                      for layout in layouts]
        return batch_position_ids(per_sample, offsets, length)
