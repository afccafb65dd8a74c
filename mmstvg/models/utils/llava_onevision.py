"""Initialising a grounder from a LLaVA-OneVision checkpoint (transformers format).

A ``LlavaOnevisionForConditionalGeneration`` directory (``save_pretrained``
output, or a hub snapshot such as ``llava-hf/llava-onevision-qwen2-7b-ov-hf``)
holds the three parts the grounder starts from::

    model.vision_tower.*                 -> grounder.vision_encoder.model
    model.multi_modal_projector.linear_1 -> grounder.projector.linear_1
    model.multi_modal_projector.linear_2 -> grounder.projector.linear_2
    model.language_model.*               -> grounder.llm.decoder
    lm_head.weight                       -> grounder.llm's output embeddings

The checkpoint is read through transformers (which also understands older key
layouts of the same model), then copied part by part with ``load_state_dict``
(strict, so a config that does not match the checkpoint fails loudly). When
the grounder's tokenizer added tokens, the embedding rows the checkpoint has
are copied and the new rows keep their initialisation. ``image_newline`` is
not used by the grounder (frames are separated by their time stamps).
"""
from typing import Dict

import torch
import torch.nn as nn
from mmengine.logging import print_log

__all__ = ['load_llava_onevision_weights']


def _copy_rows(dst: torch.Tensor, src: torch.Tensor, name: str) -> None:
    if dst.shape[1:] != src.shape[1:]:
        raise ValueError(f'{name}: checkpoint shape {tuple(src.shape)} does not match '
                         f'the grounder\'s {tuple(dst.shape)}')
    rows = min(dst.shape[0], src.shape[0])
    dst[:rows].copy_(src[:rows].to(dst.dtype))


def _load_part(dst: nn.Module, state: Dict[str, torch.Tensor], part: str,
               skip=()) -> None:
    state = {k: v for k, v in state.items() if k not in skip}
    missing, unexpected = dst.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in skip]
    if missing or unexpected:
        raise ValueError(f'LLaVA-OneVision {part} does not match the grounder\'s '
                         f'config: missing {missing[:5]}, unexpected {unexpected[:5]}')


@torch.no_grad()
def load_llava_onevision_weights(grounder: nn.Module, path: str) -> Dict[str, int]:
    """Copy a LLaVA-OneVision checkpoint's weights into a ``VideoGroundingLLM``.

    Args:
        grounder: the grounder; its vision encoder must be an
            ``HFVisionEncoder`` of the same architecture, its projector an
            ``MLPProjector`` and its LLM an ``HFCausalLM`` of the same size.
        path: the checkpoint directory (or hub name).

    Returns:
        Number of tensors copied per part.
    """
    from transformers import LlavaOnevisionForConditionalGeneration
    source = LlavaOnevisionForConditionalGeneration.from_pretrained(
        path, dtype=grounder.llm.dtype)
    counts = {}

    vision_state = source.model.vision_tower.state_dict()
    _load_part(grounder.vision_encoder.model, vision_state, 'vision tower')
    counts['vision_encoder'] = len(vision_state)
    layer = source.config.vision_feature_layer
    if getattr(grounder.vision_encoder, 'select_layer', layer) != layer:
        print_log(f'the checkpoint reads vision layer {layer}, the grounder reads '
                  f'{grounder.vision_encoder.select_layer}', logger='current', level=30)

    projector = grounder.projector
    if not (hasattr(projector, 'linear_1') and hasattr(projector, 'linear_2')):
        raise TypeError('LLaVA-OneVision has a 2-layer MLP projector: use '
                        f"projector=dict(type='MLPProjector'), not {type(projector).__name__}")
    projector_state = source.model.multi_modal_projector.state_dict()
    projector_state = {k: v for k, v in projector_state.items() if not k.startswith('act')}
    _load_part(projector, projector_state, 'projector')
    counts['projector'] = len(projector_state)

    llm = grounder.llm
    language_state = source.model.language_model.state_dict()
    embed_key = 'embed_tokens.weight'
    _load_part(llm.decoder, language_state, 'language model', skip=(embed_key, ))
    _copy_rows(llm.hf_model.get_input_embeddings().weight, language_state[embed_key],
               'embed_tokens')
    output = llm.hf_model.get_output_embeddings().weight
    if output is not llm.hf_model.get_input_embeddings().weight:
        _copy_rows(output, source.lm_head.weight, 'lm_head')
    counts['llm'] = len(language_state) + 1
    print_log(f'loaded LLaVA-OneVision weights from {path}: {counts}', logger='current')
    del source
    return counts
