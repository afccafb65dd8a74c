"""The language side of Qwen2.5-VL: its LLM with multimodal RoPE positions."""
from typing import Optional, Sequence

import torch

from mmstvg.registry import LLM_BACKBONES

from .hf_causal_lm import HFCausalLM
from .multimodal_rope import batch_position_ids, qwen2_5_vl_position_ids

__all__ = ['QwenVLCausalLM']


@LLM_BACKBONES.register_module()
class QwenVLCausalLM(HFCausalLM):
    """Qwen2.5-VL's language model and LM head, positioned by multimodal RoPE.

    Loads a ``Qwen2_5_VLForConditionalGeneration`` checkpoint (its vision
    tower is dropped after loading: :class:`QwenVLVisionEncoder` reads it) and
    gives the grounder the ``(3, B, L)`` (time, height, width) position ids of
    a batch from the samples' ``SequenceLayout`` (:meth:`layout_position_ids`,
    rules in :mod:`.multimodal_rope`). Every option of :class:`HFCausalLM`
    applies.

    Args:
        tokens_per_second: temporal positions per second of video; None: the
            checkpoint's ``vision_config.tokens_per_second``.
        **kwargs: :class:`HFCausalLM`'s arguments.
    """

    auto_model_class = 'AutoModelForImageTextToText'

    def __init__(self, tokens_per_second: Optional[float] = None, **kwargs):
        super().__init__(**kwargs)
        config = self.hf_model.config
        if tokens_per_second is None:
            tokens_per_second = getattr(config.vision_config, 'tokens_per_second', None)
        if tokens_per_second is None:
            raise ValueError('QwenVLCausalLM: the checkpoint has no '
                             'vision_config.tokens_per_second; give tokens_per_second')
        self.tokens_per_second = float(tokens_per_second)
        inner = self.hf_model.model
        if getattr(inner, 'visual', None) is not None:
            inner.visual = None  # the vision part holds the tower

    def layout_position_ids(self, layouts: Sequence, offsets: Sequence[int], length: int,
                            frame_grid: Sequence[int],
                            frame_times: Sequence[Sequence[float]],
                            second_per_grid: Optional[Sequence[Optional[float]]] = None
                            ) -> torch.Tensor:
        """The batch's ``(3, B, length)`` position ids.

        Args:
            layouts: each sample's :class:`SequenceLayout` (before padding).
            offsets: each sample's left padding in the batch.
            length: the padded length.
            frame_grid: ``(rows, cols)`` merged token grid of a frame.
            frame_times: each sample's token grids' times in seconds.
            second_per_grid: with temporal patches, each sample's seconds per
                patch (the processor's ``second_per_grid_ts``; None for a
                sample without a frame rate): the temporal index is then
                transformers' own.
        """
        grids = second_per_grid or [None] * len(layouts)
        per_sample = [
            qwen2_5_vl_position_ids(layout.frame_token_pos, layout.length, frame_grid,
                                    times, self.tokens_per_second, second)
            for layout, times, second in zip(layouts, frame_times, grids)]
        return batch_position_ids(per_sample, offsets, length)
