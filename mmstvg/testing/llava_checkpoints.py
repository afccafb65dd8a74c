"""Tiny random LLaVA checkpoints in the two exact on-disk layouts users download.

- :func:`write_llava_onevision_checkpoint`: llava-hf's layout, written by
  transformers itself (``LlavaOnevisionForConditionalGeneration(config)
  .save_pretrained``).
- :func:`write_llava_qwen_checkpoint`: lmms-lab's ``LlavaQwenForCausalLM``
  layout (LLaVA-Video-7B-Qwen2, LLaVA-OneVision lmms-lab). transformers has no
  class for it, so the file is assembled here as LLaVA-NeXT's
  ``save_pretrained`` writes it: ``config.json`` = the Qwen2 config +
  ``mm_*`` keys (``architectures=['LlavaQwenForCausalLM']``,
  ``model_type='llava'``), one ``model.safetensors`` holding
  ``model.{embed_tokens,layers,norm}.*`` (Qwen2), ``lm_head.weight``,
  ``model.vision_tower.vision_tower.vision_model.*`` (SigLIP with its last
  layer deleted and no pooling head, ``siglip_encoder.py``),
  ``model.mm_projector.{0,2}.*`` (``mlp2x_gelu``: Linear, GELU, Linear) and
  ``model.image_newline``.

:func:`llava_qwen_video_features` recomputes LLaVA-NeXT's video features from
such a file, independently of mmstvg's loader (the reference of the tests).

Both writers save the tokenizer given (the real Qwen2 one in the tests) next
to the weights, as the hub checkpoints do.
"""
import json
import math
import os
import os.path as osp
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['write_llava_onevision_checkpoint', 'write_llava_qwen_checkpoint',
           'llava_qwen_video_features', 'TINY_SIGLIP', 'tiny_qwen2_config']

#: A SigLIP vision config at reduced width (the so400m shape otherwise).
TINY_SIGLIP = dict(model_type='siglip_vision_model', hidden_size=32, intermediate_size=64,
                   num_hidden_layers=3, num_attention_heads=16, image_size=56,
                   patch_size=8, layer_norm_eps=1e-6, hidden_act='gelu_pytorch_tanh')


def tiny_qwen2_config(vocab_size: int = 151646, hidden_size: int = 64) -> dict:
    """A 2-layer Qwen2-7B-shaped config (GQA, untied head) at reduced width."""
    return dict(model_type='qwen2', vocab_size=vocab_size, hidden_size=hidden_size,
                intermediate_size=2 * hidden_size, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                rms_norm_eps=1e-6, tie_word_embeddings=False, bos_token_id=151643,
                eos_token_id=151645)


def _siglip_tower(vision_config: dict) -> nn.Module:
    """LLaVA-NeXT's SigLIP tower: the full config, last layer deleted, no head."""
    from transformers import SiglipVisionConfig, SiglipVisionModel
    cfg = {k: v for k, v in vision_config.items() if k != 'model_type'}
    tower = SiglipVisionModel(SiglipVisionConfig(**cfg, vision_use_head=False))
    inner = getattr(tower, 'vision_model', tower)  # transformers 5 flattens it
    del inner.encoder.layers[-1:]
    return tower


def _vision_model_state(tower: nn.Module) -> dict:
    """The tower's tensors under LLaVA-NeXT's ``vision_model.*`` names."""
    state = tower.state_dict()
    if hasattr(tower, 'vision_model'):
        return dict(state)
    return {f'vision_model.{k}': v for k, v in state.items()}


def _save_tokenizer(tokenizer_dir: Optional[str], path: str) -> None:
    """Copy a saved tokenizer's files next to the weights (as the hub has them)."""
    if tokenizer_dir is None:
        return
    import shutil
    for name in os.listdir(tokenizer_dir):
        if name.startswith(('tokenizer', 'special_tokens', 'vocab', 'merges', 'added_tokens',
                            'chat_template')):
            shutil.copy(osp.join(tokenizer_dir, name), osp.join(path, name))


def write_llava_onevision_checkpoint(path: str, vision_config: dict = TINY_SIGLIP,
                                     text_config: Optional[dict] = None,
                                     tokenizer_dir: Optional[str] = None,
                                     seed: int = 0) -> str:
    """``LlavaOnevisionForConditionalGeneration(config).save_pretrained(path)``.

    ``vision_config`` is the full tower's (so400m: 27 layers); like llava-hf
    the checkpoint keeps one layer less, read at ``vision_feature_layer=-1``
    with the ``'full'`` strategy.
    """
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration
    text_config = dict(text_config or tiny_qwen2_config())
    torch.manual_seed(seed)
    kept = dict(vision_config, vision_use_head=False,
                num_hidden_layers=vision_config['num_hidden_layers'] - 1)
    config = LlavaOnevisionConfig(
        vision_config=kept, text_config=text_config,
        vision_feature_layer=-1, vision_feature_select_strategy='full',
        image_token_id=151646, video_token_id=151647)
    model = LlavaOnevisionForConditionalGeneration(config)
    with torch.no_grad():  # a visible newline (transformers initialises it at random too)
        model.model.image_newline.normal_()
    model.save_pretrained(path)
    _save_tokenizer(tokenizer_dir, path)
    return path


def write_llava_qwen_checkpoint(path: str, vision_config: dict = TINY_SIGLIP,
                                text_config: Optional[dict] = None,
                                tokenizer_dir: Optional[str] = None,
                                mm_newline_position: str = 'grid',
                                mm_spatial_pool_mode: str = 'bilinear',
                                mm_spatial_pool_stride: int = 2,
                                num_shards: int = 1, seed: int = 0,
                                mm_vision_tower: Optional[str] = None) -> str:
    """Write an lmms-lab ``llava_qwen`` checkpoint (see the module docstring).

    Args:
        path: output directory.
        vision_config: the *full* SigLIP config (so400m: 27 layers); the
            last layer is deleted as LLaVA-NeXT does.
        text_config: the Qwen2 config (default :func:`tiny_qwen2_config`).
        tokenizer_dir: a tokenizer to save alongside.
        mm_newline_position / mm_spatial_pool_mode / mm_spatial_pool_stride:
            LLaVA-NeXT's video settings stored in the config.
        num_shards: split the tensors over this many safetensors files with
            a ``model.safetensors.index.json`` (as 7B checkpoints are).
        seed: random seed.
        mm_vision_tower: the tower's name in the config (LLaVA-NeXT builds
            the tower from it). Default: ``google/siglip-so400m-patch14-384``
            for a so400m-shaped ``vision_config``, else a local directory
            ``<path>/vision_tower`` holding ``vision_config`` as ``config.json``
            (a reduced tower's head count cannot be read from its tensors).
    """
    from safetensors.torch import save_file
    from transformers import AutoConfig, Qwen2ForCausalLM
    torch.manual_seed(seed)
    tower = _siglip_tower(vision_config)
    text = dict(text_config or tiny_qwen2_config())
    text_cfg = AutoConfig.for_model(text.pop('model_type'), **text)
    llm = Qwen2ForCausalLM(text_cfg)
    width, hidden = tower.config.hidden_size, text_cfg.hidden_size
    projector = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, hidden))
    state = {f'model.{k}': v for k, v in llm.model.state_dict().items()}
    state['lm_head.weight'] = llm.lm_head.weight
    state.update({f'model.vision_tower.vision_tower.{k}': v
                  for k, v in _vision_model_state(tower).items()})
    state.update({f'model.mm_projector.{k}': v for k, v in projector.state_dict().items()})
    state['model.image_newline'] = torch.randn(hidden)
    state = {k: v.detach().contiguous().clone() for k, v in state.items()}
    os.makedirs(path, exist_ok=True)
    keys = sorted(state)
    if num_shards == 1:
        save_file(state, osp.join(path, 'model.safetensors'), metadata=dict(format='pt'))
    else:
        weight_map = {}
        per = math.ceil(len(keys) / num_shards)
        for i in range(num_shards):
            name = f'model-{i + 1:05d}-of-{num_shards:05d}.safetensors'
            part = {k: state[k] for k in keys[i * per:(i + 1) * per]}
            save_file(part, osp.join(path, name), metadata=dict(format='pt'))
            weight_map.update({k: name for k in part})
        total = sum(v.numel() * v.element_size() for v in state.values())
        with open(osp.join(path, 'model.safetensors.index.json'), 'w') as f:
            json.dump(dict(metadata=dict(total_size=total), weight_map=weight_map), f,
                      indent=2)
    if mm_vision_tower is None:
        so400m = (vision_config['hidden_size'], vision_config['intermediate_size']) == (1152,
                                                                                        4304)
        mm_vision_tower = 'google/siglip-so400m-patch14-384'
        if not so400m:
            mm_vision_tower = osp.abspath(osp.join(path, 'vision_tower'))
            tower.config.save_pretrained(mm_vision_tower)
    config = text_cfg.to_dict()
    config.update(
        architectures=['LlavaQwenForCausalLM'], model_type='llava',
        mm_vision_tower=mm_vision_tower, mm_hidden_size=width,
        mm_projector_type='mlp2x_gelu', mm_vision_select_layer=-2,
        mm_vision_select_feature='patch', mm_patch_merge_type='spatial_unpad',
        mm_newline_position=mm_newline_position, mm_spatial_pool_mode=mm_spatial_pool_mode,
        mm_spatial_pool_stride=mm_spatial_pool_stride, add_faster_video=False,
        image_aspect_ratio='anyres_max_9', mm_use_im_start_end=False,
        mm_use_im_patch_token=False, tokenizer_padding_side='right',
        tokenizer_model_max_length=32768)
    with open(osp.join(path, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    _save_tokenizer(tokenizer_dir, path)
    return path


@torch.no_grad()
def llava_qwen_video_features(path: str, frames: torch.Tensor,
                              vision_config: dict = TINY_SIGLIP) -> torch.Tensor:
    """LLaVA-NeXT's video features of a ``llava_qwen`` file, recomputed.

    Follows ``llava_arch.py``: the tower's ``hidden_states[-1]`` (26 of 27
    so400m layers kept), ``mm_projector``, ``get_2dPool`` with the config's
    mode and stride, then ``image_newline`` per ``mm_newline_position``
    (``add_token_per_grid`` / ``add_token_per_frame`` / once at the end /
    none).

    Args:
        path: the checkpoint directory (one ``model.safetensors``).
        frames: ``(T, 3, S, S)`` normalised frames.
        vision_config: the full SigLIP config the file was written from.

    Returns:
        ``(num_tokens, D)`` the video's tokens as the LLM receives them.
    """
    from safetensors.torch import load_file
    with open(osp.join(path, 'config.json')) as f:
        cfg = json.load(f)
    state = load_file(osp.join(path, 'model.safetensors'))
    tower = _siglip_tower(vision_config)
    prefix = 'model.vision_tower.vision_tower.'
    if not hasattr(tower, 'vision_model'):
        prefix += 'vision_model.'
    tower.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                           if k.startswith(prefix)}, strict=True)
    tower.eval()
    feats = tower(frames, output_hidden_states=True).hidden_states[-1]
    w0, b0 = state['model.mm_projector.0.weight'], state['model.mm_projector.0.bias']
    w2, b2 = state['model.mm_projector.2.weight'], state['model.mm_projector.2.bias']
    feats = F.linear(F.gelu(F.linear(feats, w0, b0)), w2, b2)
    num, tokens, dim = feats.shape
    side = int(math.isqrt(tokens))
    grid = feats.view(num, side, side, dim).permute(0, 3, 1, 2).contiguous()
    stride, mode = cfg['mm_spatial_pool_stride'], cfg['mm_spatial_pool_mode']
    if mode == 'average':
        grid = F.avg_pool2d(grid, stride)
    elif mode == 'max':
        grid = F.max_pool2d(grid, stride)
    else:
        grid = F.interpolate(grid, size=[math.ceil(side / stride)] * 2, mode='bilinear')
    feats = grid.permute(0, 2, 3, 1).reshape(num, -1, dim)
    newline = state['model.image_newline']
    position = cfg.get('mm_newline_position', 'one_token')
    if position == 'grid':  # add_token_per_grid
        h = int(math.isqrt(feats.shape[1]))
        x = feats.view(num, 1, h, h, dim).permute(4, 0, 2, 1, 3).contiguous()
        x = x.flatten(1, 2).flatten(2, 3)
        x = torch.cat([x, newline[:, None, None].expand(*x.shape[:-1], 1)], dim=-1)
        return x.flatten(1, 2).transpose(0, 1)
    if position == 'frame':  # add_token_per_frame
        x = feats.permute(2, 0, 1)
        x = torch.cat([x, newline[:, None, None].expand(*x.shape[:-1], 1)], dim=-1)
        return x.permute(1, 2, 0).flatten(0, 1)
    feats = feats.flatten(0, 1)
    if position == 'one_token':
        return torch.cat([feats, newline[None]], dim=0)
    return feats
