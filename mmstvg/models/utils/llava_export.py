"""Writing a grounder's base (tower, projector, pooler, LLM) as an lmms-lab ``llava_qwen`` checkpoint.

The inverse of :func:`mmstvg.models.utils.llava_checkpoints.load_llava_weights`
for the ``llava_qwen`` layout (LLaVA-NeXT's ``LlavaQwenForCausalLM``, the
layout LLaVA-Video-7B-Qwen2 ships in): ``config.json`` is the Qwen2 config
plus LLaVA-NeXT's ``mm_*`` keys, one ``model.safetensors`` holds::

    model.{embed_tokens,layers,norm}.*                 <- llm decoder (Qwen2Model)
    lm_head.weight                                     <- llm output embeddings
    model.vision_tower.vision_tower.vision_model.*     <- vision_encoder.model
    model.mm_projector.{0,2}.{weight,bias}             <- projector.linear_{1,2}
    model.image_newline                                <- feature_pooler.image_newline

and the tokenizer files lie beside it. As in LLaVA-NeXT, the tower keeps only
the layers its features are read from (``mm_vision_select_layer=-2`` of the
full tower: the last stored layer), and the video features are pooled after
the projector (``mm_spatial_pool_mode`` / ``_stride``, ``mm_newline_position``).
A grounder whose base differs from what that layout can say (pooling inside
the tower, another projector, a tower config the loader cannot read back) is
refused with the reason, so a written checkpoint always loads back into the
same base.
"""
import json
import os
import os.path as osp
from typing import Dict, Optional

import torch
import torch.nn as nn

from .llava_checkpoints import SO400M

__all__ = ['export_llava_qwen', 'llava_qwen_state']

_TOWER_PREFIX = 'model.vision_tower.vision_tower.vision_model.'
_NEWLINE_NAMES = {None: 'no_token', 'grid': 'grid', 'frame': 'frame'}


def _tower_layers(tower: nn.Module) -> int:
    for name, module in tower.named_modules():
        if name.endswith('encoder.layers') and isinstance(module, nn.ModuleList):
            return len(module)
    raise TypeError(f'{type(tower).__name__} has no encoder.layers: the llava_qwen layout '
                    'holds a SigLIP tower')


def _check_base(grounder: nn.Module) -> int:
    """Refuse what the layout cannot hold; return the tower layers to keep."""
    encoder, projector, pooler = (grounder.vision_encoder, grounder.projector,
                                  getattr(grounder, 'feature_pooler', None))
    config = encoder.model.config
    if config.model_type != 'siglip_vision_model':
        raise TypeError(f'the llava_qwen layout holds a SigLIP tower, got {config.model_type!r}')
    if getattr(encoder, 'pool_size', 1) != 1:
        raise ValueError('the tower pools its features (pool_size='
                         f'{encoder.pool_size}); LLaVA pools after the projector: use '
                         "pool_size=1 and feature_pooler=dict(type='LlavaFeaturePooler')")
    if pooler is None or not hasattr(pooler, 'stride'):
        raise ValueError('the llava_qwen layout pools video features after the projector: '
                         "the grounder needs feature_pooler=dict(type='LlavaFeaturePooler')")
    if not (hasattr(projector, 'linear_1') and hasattr(projector, 'linear_2')):
        raise TypeError("the llava_qwen layout has an 'mlp2x_gelu' projector: use "
                        f"MLPProjector, not {type(projector).__name__}")
    for key in ('num_attention_heads', 'layer_norm_eps', 'hidden_act'):
        # The layout names its tower (so400m) and keeps no vision config:
        # these are read back as so400m's.
        if getattr(config, key) != SO400M[key]:
            raise ValueError(f'vision tower {key}={getattr(config, key)!r}: a llava_qwen '
                             f'checkpoint is read back with so400m\'s {SO400M[key]!r}; '
                             'train the tower with it')
    if config.image_size % config.patch_size:
        raise ValueError(f'image_size {config.image_size} is not a multiple of the patch '
                         f'size {config.patch_size}')
    layers = _tower_layers(encoder.model)
    used = encoder.select_layer % (layers + 1)
    if used == 0:
        raise ValueError('the tower is read at its embeddings (select_layer='
                         f'{encoder.select_layer}); LLaVA reads an encoder layer')
    return used


def llava_qwen_state(grounder: nn.Module) -> Dict[str, torch.Tensor]:
    """The base's tensors under the ``llava_qwen`` names (see the module docstring).

    Args:
        grounder: a ``VideoGroundingLLM`` (or subclass) without LoRA adapters
            (merge them first).
    """
    used = _check_base(grounder)
    llm = grounder.llm
    if hasattr(llm.model, 'peft_config'):
        raise ValueError('the LLM carries LoRA adapters: merge them first '
                         '(tools/misc/merge_lora.py)')
    state = {f'model.{k}': v for k, v in llm.decoder.state_dict().items()}
    state['lm_head.weight'] = llm.hf_model.get_output_embeddings().weight
    tower = grounder.vision_encoder.model.state_dict()
    for name, tensor in tower.items():
        name = name[len('vision_model.'):] if name.startswith('vision_model.') else name
        if name.startswith('head.'):
            continue  # LLaVA's tower has no pooling head
        if name.startswith('encoder.layers.') and int(name.split('.')[2]) >= used:
            continue  # layers after the one read are dropped, as LLaVA-NeXT does
        state[_TOWER_PREFIX + name] = tensor
    projector = grounder.projector
    for index, linear in (('0', projector.linear_1), ('2', projector.linear_2)):
        for param, tensor in linear.state_dict().items():
            state[f'model.mm_projector.{index}.{param}'] = tensor
    pooler = grounder.feature_pooler
    newline = (pooler.image_newline if pooler.image_newline is not None else
               torch.zeros(llm.hidden_size))  # LLaVA-NeXT's model always has one
    state['model.image_newline'] = newline
    return {k: v.detach().to('cpu', copy=True).contiguous() for k, v in state.items()}


def llava_qwen_config(grounder: nn.Module, vision_tower_name: str) -> dict:
    """``config.json``: the Qwen2 config and LLaVA-NeXT's ``mm_*`` keys."""
    used = _check_base(grounder)
    llm_config = grounder.llm.hf_model.config.to_dict()
    for key in ('architectures', '_name_or_path', 'transformers_version'):
        llm_config.pop(key, None)
    tower = grounder.vision_encoder.model.config.to_dict()
    tower.update(num_hidden_layers=used + 1)  # the full tower, as LLaVA-NeXT names it
    pooler = grounder.feature_pooler
    config = dict(llm_config)
    config.update(
        architectures=['LlavaQwenForCausalLM'], model_type='llava',
        mm_vision_tower=vision_tower_name,
        mm_hidden_size=grounder.vision_encoder.out_channels,
        mm_projector_type='mlp2x_gelu', mm_vision_select_layer=-2,
        mm_vision_select_feature='patch', mm_patch_merge_type='spatial_unpad',
        mm_newline_position=_NEWLINE_NAMES[pooler.newline],
        mm_spatial_pool_mode=pooler.mode, mm_spatial_pool_stride=pooler.stride,
        add_faster_video=False, image_aspect_ratio='anyres_max_9',
        mm_use_im_start_end=False, mm_use_im_patch_token=False,
        tokenizer_padding_side='right',
        tokenizer_model_max_length=int(llm_config.get('max_position_embeddings', 32768)),
        # Not read by LLaVA-NeXT (it loads mm_vision_tower): the tower written here.
        mm_vision_tower_config={k: v for k, v in tower.items()
                                if k not in ('_name_or_path', 'transformers_version')})
    return config


def export_llava_qwen(grounder: nn.Module, out_dir: str,
                      vision_tower_name: str = 'mmstvg/siglip-base-pretrain',
                      dtype: Optional[torch.dtype] = None) -> str:
    """Write a grounder's base as an lmms-lab ``llava_qwen`` checkpoint.

    Args:
        grounder: the trained grounder (its tower, projector, pooler and LLM
            are written; queries and heads are not part of a base model).
        out_dir: the output directory (created).
        vision_tower_name: ``mm_vision_tower`` of the config (LLaVA-NeXT
            loads the tower's config by that name).
        dtype: the tensors' dtype on disk; None: as trained.

    Returns:
        ``out_dir``.
    """
    from safetensors.torch import save_file
    state = llava_qwen_state(grounder)
    if dtype is not None:
        state = {k: v.to(dtype) for k, v in state.items()}
    config = llava_qwen_config(grounder, vision_tower_name)
    config['torch_dtype'] = str(next(iter(state.values())).dtype).replace('torch.', '')
    os.makedirs(out_dir, exist_ok=True)
    save_file(state, osp.join(out_dir, 'model.safetensors'), metadata=dict(format='pt'))
    with open(osp.join(out_dir, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    grounder.llm.tokenizer.save_pretrained(out_dir)
    generation = getattr(grounder.llm.hf_model, 'generation_config', None)
    if generation is not None:
        generation.save_pretrained(out_dir)
    return out_dir
