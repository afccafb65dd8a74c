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
import os.path as osp
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


def base_model_only(model_cfg) -> None:
    """Take off every part the base video LLM lacks (queries, space decoder, frame
    heads, logits processors), in place: what the parity tests compare with the
    base model alone."""
    model_cfg.query_interleaver = dict(type='NoQueries')
    model_cfg.space_decoder = None
    model_cfg.heads, model_cfg.logits_processors = [], []
    model_cfg.frame_state_source = 'llm_queries'


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


# ----------------------------------------------------------------------------
# Full-size configs at reduced width, from checkpoint files in the real formats.
#: Frames and frame size of the reduced full-size runs (TINY_SIGLIP's 56 px:
#: 7 x 7 patches -> 4 x 4 bilinear, an odd grid pooled with ceil as 27 -> 14).
FULL_SIZE_FRAMES = 8
FULL_SIZE_PIXELS = 56


def write_full_size_checkpoint(path: str, tokenizer_dir: str) -> str:
    """A reduced-width LLaVA-Video-7B-Qwen2 (lmms-lab ``llava_qwen`` layout:
    26-of-27-layer SigLIP, mlp2x_gelu, 2-layer GQA Qwen2 of width 64, grid
    newlines, bilinear stride 2) with the real Qwen2 tokenizer, in 2 shards."""
    from mmstvg.testing.llava_checkpoints import write_llava_qwen_checkpoint
    return write_llava_qwen_checkpoint(path, tokenizer_dir=tokenizer_dir, num_shards=2)


def shrink_full_size(cfg, llava_dir: str, data_root: Optional[str] = None,
                     work_dir: Optional[str] = None, max_iters: int = 5,
                     cpu_fp32: bool = False) -> None:
    """The one override of every full-size config for CI (in place).

    The model is built from ``llava_dir`` (a :func:`write_full_size_checkpoint`
    output) through the config's own ``llava_onevision_path`` path; every part
    type, dtype, attention, gradient checkpointing, freezing, pooling and
    prompt option stays the config's. Pipelines sample
    :data:`FULL_SIZE_FRAMES` frames of :data:`FULL_SIZE_PIXELS` px; the
    dataloaders read ``data_root`` (e.g. :func:`write_hcstvg_16x9` output)
    with 2 samples a batch in the main process; the run is ``max_iters``
    iterations without validation, checkpoints or schedulers.

    ``cpu_fp32``: store the LLM and tower in fp32 instead of the config's bf16,
    for runs that train on CPU: the backward pass of the real vocabulary's LM
    head (151,646 x 64) takes 14.4 s in bf16 on this CPU, 0.7 s in fp32
    (measured), i.e. minutes for 5 iterations. The precision path itself is
    tested by the engine tests.
    """
    cfg.model.llava_onevision_path = llava_dir
    if cpu_fp32:
        cfg.model.llm.dtype = 'fp32'
        cfg.model.vision_encoder.dtype = 'fp32'
    if cfg.model.get('max_new_tokens', 0) > 64:
        cfg.model.max_new_tokens = 64  # the text-box baseline's 2048 at 7B
    shrink_pipelines(cfg, num_frames=FULL_SIZE_FRAMES, size=FULL_SIZE_PIXELS)
    if data_root is None:
        return
    point_data_root(cfg, data_root)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    if work_dir is not None:
        cfg.work_dir = work_dir
        cfg.visualizer.name = f'visualizer_{osp.basename(work_dir)}'


# ----------------------------------------------------------------------------
# Qwen2.5-VL / Qwen3-VL configs at reduced width.
#: Frame size of the reduced Qwen3-VL runs (sides multiples of 32: 2 x 2 merged tokens).
QWEN3_VL_PIXELS = 64


def write_qwen2_5_vl_checkpoint(path: str, tokenizer_dir: str) -> str:
    """A reduced-width Qwen2.5-VL-7B-Instruct (its real tower architecture,
    2-layer M-RoPE Qwen2 of width 64) with the real Qwen2 tokenizer."""
    from mmstvg.testing.qwen_vl_checkpoints import write_tiny_qwen2_5_vl
    return write_tiny_qwen2_5_vl(path, hidden_size=64, tokenizer_dir=tokenizer_dir)


def write_qwen3_vl_checkpoint(path: str, tokenizer_dir: str) -> str:
    """A reduced-width Qwen3-VL-8B-Instruct (its real tower architecture with
    DeepStack mergers, 2-layer interleaved M-RoPE Qwen3 of width 64) with the
    real Qwen2 tokenizer (Qwen3's BPE is Qwen2's)."""
    from mmstvg.testing.qwen_vl_checkpoints import write_tiny_qwen3_vl
    return write_tiny_qwen3_vl(path, hidden_size=64, tokenizer_dir=tokenizer_dir)


def shrink_qwen_vl(cfg, qwen_dir: str, data_root: str, work_dir: str,
                   max_iters: int = 3, pixels: int = FULL_SIZE_PIXELS) -> None:
    """:func:`shrink_full_size` for a config whose parts load a Qwen-VL
    checkpoint: both parts read ``qwen_dir``; ``pixels`` px frames (56 for
    Qwen2.5-VL, :data:`QWEN3_VL_PIXELS` for Qwen3-VL: 2 x 2 merged tokens) in
    fp32 on CPU."""
    shrink_full_size(cfg, None, data_root, work_dir, max_iters=max_iters, cpu_fp32=True)
    if pixels != FULL_SIZE_PIXELS:
        shrink_pipelines(cfg, num_frames=FULL_SIZE_FRAMES, size=pixels)
    shrink_qwen_resize(cfg, pixels)
    cfg.model.vision_encoder.pretrained_model_name_or_path = qwen_dir
    cfg.model.llm.pretrained_model_name_or_path = qwen_dir


def shrink_qwen_resize(cfg, pixels: int) -> None:
    """Every ``QwenVLSmartResize`` with a budget of one ``pixels`` x ``pixels``
    frame (per frame, or times :data:`FULL_SIZE_FRAMES` for a whole-video
    budget) and the factor of its model (28 when ``pixels`` is a multiple of
    it, else 32), instead of a checkpoint's processor configuration."""
    factor = 28 if pixels % 28 == 0 else 32

    def visit(node: dict) -> None:
        if node.get('type') == 'QwenVLSmartResize':
            frames = FULL_SIZE_FRAMES if node.get('pixel_budget') == 'video' else 1
            node.update(checkpoint=None, factor=factor, min_pixels=factor * factor,
                        max_pixels=pixels * pixels * frames, temporal_patch_size=2)

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key, None) is not None:
            walk(cfg[key], visit)


def eval_model_and_batch(cfg, data_root: str, work_dir: str):
    """The runner's model in eval mode and its first preprocessed test batch.

    Only the test loop is kept (one sample a batch, no workers); ``cfg`` is
    changed in place.
    """
    from mmstvg.engine.runner_builder import build_runner
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.update(batch_size=1, num_workers=0, persistent_workers=False)
    cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = cfg.param_scheduler = None
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.work_dir = work_dir
    cfg.visualizer.name = f'visualizer_{osp.basename(work_dir)}'
    cfg.log_level = 'WARNING'
    runner = build_runner(cfg)
    batch = next(iter(runner.test_dataloader))
    model = runner.model.eval()
    return model, model.data_preprocessor(batch, training=False)
