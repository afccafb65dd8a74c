"""Test overrides of configs: tiny sizes and local paths, the structure untouched.

The configs under ``configs/`` name 7B checkpoints, real data roots and 64
frames. The tests change only size- and path-related values:

- :func:`shrink_model`: a pretrained tower / LLM path becomes a tiny
  ``vision_config`` / ``llm_config`` dict of the same model family (SigLIP,
  Qwen2) with a local toy tokenizer, and ``llava_onevision_path`` is dropped;
  the toy configs' ``data/pretrained/toy`` is pointed at a directory written by
  ``create_toy_pretrained``. Part types, interleaver, decoder, attention
  reading, dtype, attention implementation, gradient checkpointing, freezing
  and prompt options stay the config's.
- :func:`shrink_pipelines`: fewer frames and smaller frames in every pipeline.
- :func:`lazy_datasets`: every dataset (mixtures included) is built with
  ``lazy_init=True`` so annotation files that do not exist are not read.
"""
import copy
from typing import Any, Callable, Optional

#: The toy configs' pretrained directory (configs/_base_/models/spacevllm_toy.py).
TOY_PRETRAINED = 'data/pretrained/toy'

TINY_VISION = dict(model_type='siglip_vision_model', hidden_size=32, intermediate_size=64,
                   num_hidden_layers=2, num_attention_heads=2, image_size=32,
                   patch_size=8)


def tiny_llm_config(vocab_size: int) -> dict:
    """A 2-layer Qwen2 with hidden size 64 (8 heads divide it, as the 7B QGSD's)."""
    return dict(model_type='qwen2', hidden_size=64, intermediate_size=128,
                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                vocab_size=vocab_size, max_position_embeddings=2048,
                tie_word_embeddings=False)


def walk(node: Any, visit: Callable[[dict], None]) -> None:
    """Call ``visit`` on every dict nested in ``node`` (dicts and lists)."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            walk(value, visit)
    elif isinstance(node, (list, tuple)):
        for value in node:
            walk(value, visit)


def is_toy(cfg) -> bool:
    """A toy config loads its parts from :data:`TOY_PRETRAINED`."""
    return cfg.get('toy_pretrained', None) == TOY_PRETRAINED


def shrink_model(model_cfg: dict, toy_dir: str, tokenizer_dir: str,
                 vocab_size: int, frame_token_grid: Optional[tuple] = None) -> dict:
    """The model config with tiny parts (see the module docstring).

    Args:
        model_cfg: ``cfg.model``.
        toy_dir: a ``create_toy_pretrained`` output replacing
            :data:`TOY_PRETRAINED`.
        tokenizer_dir: the toy tokenizer (with a chat template) for LLMs
            built from ``llm_config``.
        vocab_size: its vocabulary size.
        frame_token_grid: the tiny frames' token grid, for space decoders
            that predict around reference points on it.

    Returns:
        A changed deep copy.
    """
    model = copy.deepcopy(model_cfg.to_dict() if hasattr(model_cfg, 'to_dict')
                          else model_cfg)

    def retarget(node: dict) -> None:
        for key, value in node.items():
            if isinstance(value, str) and value.startswith(TOY_PRETRAINED):
                node[key] = toy_dir + value[len(TOY_PRETRAINED):]

    walk(model, retarget)
    vision = model['vision_encoder']
    path = vision.get('pretrained_model_name_or_path')
    if path is not None and not path.startswith(toy_dir):
        vision['pretrained_model_name_or_path'] = None
        vision['vision_config'] = dict(TINY_VISION)
    llm = model['llm']
    path = llm.get('pretrained_model_name_or_path')
    if path is not None and not path.startswith(toy_dir):
        llm['pretrained_model_name_or_path'] = None
        llm['llm_config'] = tiny_llm_config(vocab_size)
        llm['tokenizer'] = tokenizer_dir
    model['llava_onevision_path'] = None
    decoder = model.get('space_decoder') or {}
    if decoder.get('frame_token_grid') is not None and frame_token_grid is not None:
        decoder['frame_token_grid'] = frame_token_grid
    return model


def shrink_pipelines(cfg, num_frames: int, size: Optional[int] = None) -> None:
    """Set the sampled frame count (and optionally the frame size) everywhere."""

    def visit(node: dict) -> None:
        kind = node.get('type')
        if kind == 'UniformSampleFrames' and node.get('num_frames', 1) > 1:
            node['num_frames'] = num_frames
        if size is not None and kind == 'GroundingResize':
            node['scale'] = (size, size)
        if size is not None and kind == 'GroundingPad':
            node['size'] = (size, size)

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key, None) is not None:
            walk(cfg[key], visit)


def lazy_datasets(dataset_cfg: dict) -> None:
    """``lazy_init=True`` on a dataset config and every dataset nested in it."""

    def visit(node: dict) -> None:
        if str(node.get('type', '')).endswith('Dataset'):
            node['lazy_init'] = True

    walk(dataset_cfg, visit)


def point_data_root(cfg, data_root: str) -> None:
    """Every dataloader's dataset reads from ``data_root``."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key, None)
        if loader is not None:
            loader['dataset']['data_root'] = data_root
