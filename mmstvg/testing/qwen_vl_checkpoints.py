"""Tiny random Qwen2.5-VL / Qwen3-VL checkpoints written with ``save_pretrained`` (tests)."""
from typing import Optional

__all__ = ['QWEN_VL_TOKEN_IDS', 'write_tiny_qwen2_5_vl', 'write_tiny_qwen3_vl']

#: Qwen2.5-VL's and Qwen3-VL's vision special tokens (their tokenizers' ids).
QWEN_VL_TOKEN_IDS = dict(vision_start=151652, vision_end=151653, image_pad=151655,
                         video_pad=151656)


def write_tiny_qwen2_5_vl(directory: str, hidden_size: int = 32, num_layers: int = 2,
                          seed: int = 0, text_overrides: Optional[dict] = None,
                          tokenizer_dir: Optional[str] = None) -> str:
    """Save a random ``Qwen2_5_VLForConditionalGeneration`` of tiny widths.

    The vision tower keeps the real architecture (14-pixel patches, 2x2
    merger, 2-frame temporal patches, window attention with one full-attention
    block); the text model is Qwen2's with M-RoPE sections scaled to its head
    size. The vocabulary covers Qwen2's tokenizer and the vision tokens.
    ``tokenizer_dir``: a Qwen2 tokenizer saved beside the weights with the
    vision tokens and Qwen2.5-VL's chat template (as a hub snapshot holds its
    own, :mod:`.qwen_vl_tokenizers`).
    """
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    heads = 4
    head_dim = hidden_size // heads
    quarter = head_dim // 2 // 4  # mrope sections sum to head_dim / 2
    text = dict(hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                num_hidden_layers=num_layers, num_attention_heads=heads,
                num_key_value_heads=2, vocab_size=151657, max_position_embeddings=4096,
                rope_parameters=dict(rope_type='default', rope_theta=10000.0,
                                     mrope_section=[head_dim // 2 - 2 * quarter, quarter,
                                                    quarter]))
    text.update(text_overrides or {})
    config = Qwen2_5_VLConfig(
        text_config=text,
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=4,
                           out_hidden_size=hidden_size, patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2, window_size=56, fullatt_block_indexes=[1],
                           tokens_per_second=2),
        image_token_id=QWEN_VL_TOKEN_IDS['image_pad'],
        video_token_id=QWEN_VL_TOKEN_IDS['video_pad'],
        vision_start_token_id=QWEN_VL_TOKEN_IDS['vision_start'])
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.save_pretrained(directory)
    if tokenizer_dir is not None:
        from .qwen_vl_tokenizers import QWEN2_5_VL_CHAT_TEMPLATE, qwen_vl_tokenizer
        qwen_vl_tokenizer(tokenizer_dir, QWEN2_5_VL_CHAT_TEMPLATE).save_pretrained(directory)
    return directory


def write_tiny_qwen3_vl(directory: str, hidden_size: int = 32, num_layers: int = 2,
                        seed: int = 0, text_overrides: Optional[dict] = None,
                        tokenizer_dir: Optional[str] = None) -> str:
    """Save a random ``Qwen3VLForConditionalGeneration`` of tiny widths.

    The vision tower keeps the real architecture (16-pixel patches, 2x2
    merger, 2-frame temporal patches, an 8 x 8 learned position grid
    interpolated to each frame, DeepStack mergers after its layers 0 and 1);
    the text model is Qwen3's (q / k norms, ``head_dim`` 16) with the
    interleaved M-RoPE sections of the real ``[24, 20, 20]`` scaled to its
    head (``[4, 2, 2]``). The vocabulary covers Qwen2's tokenizer and the
    vision tokens. ``tokenizer_dir``: a Qwen2 tokenizer saved beside the
    weights with the vision tokens and Qwen3-VL's chat template
    (:mod:`.qwen_vl_tokenizers`).
    """
    import torch
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    head_dim = 16
    text = dict(hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2,
                head_dim=head_dim, vocab_size=151657, max_position_embeddings=4096,
                rope_parameters=dict(rope_type='default', rope_theta=5000000.0,
                                     mrope_section=[4, 2, 2], mrope_interleaved=True))
    text.update(text_overrides or {})
    config = Qwen3VLConfig(
        text_config=text,
        vision_config=dict(depth=3, hidden_size=32, intermediate_size=64, num_heads=4,
                           out_hidden_size=hidden_size, patch_size=16, spatial_merge_size=2,
                           temporal_patch_size=2, num_position_embeddings=64,
                           deepstack_visual_indexes=[0, 1]),
        image_token_id=QWEN_VL_TOKEN_IDS['image_pad'],
        video_token_id=QWEN_VL_TOKEN_IDS['video_pad'],
        vision_start_token_id=QWEN_VL_TOKEN_IDS['vision_start'],
        vision_end_token_id=QWEN_VL_TOKEN_IDS['vision_end'])
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).eval()
    model.save_pretrained(directory)
    if tokenizer_dir is not None:
        from .qwen_vl_tokenizers import QWEN3_VL_CHAT_TEMPLATE, qwen_vl_tokenizer
        qwen_vl_tokenizer(tokenizer_dir, QWEN3_VL_CHAT_TEMPLATE).save_pretrained(directory)
    return directory
