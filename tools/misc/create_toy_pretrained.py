"""Write tiny random Hugging Face checkpoints for tests and the CPU toy job.

Usage::

    python tools/misc/create_toy_pretrained.py OUT_DIR [--image-size 64] ...

writes, each with ``save_pretrained`` so configs load them through the real
``from_pretrained`` path:

- ``OUT_DIR/vision``: a random SigLIP vision model (``SiglipVisionModel``),
- ``OUT_DIR/llm``: a random Qwen2 causal LM whose vocabulary is the toy
  tokenizer's,
- ``OUT_DIR/tokenizer``: the toy word-level tokenizer. It lives in its own
  directory on purpose: transformers 5 picks the tokenizer class from a
  ``config.json`` next to the tokenizer files, and would load the word-level
  vocabulary as a (byte-level) ``Qwen2Tokenizer`` that splits words wrongly.
  Configs give it as ``llm=dict(type='HFCausalLM', ..., tokenizer=OUT_DIR/tokenizer)``.

Nothing is downloaded. The same seed gives the same weights.
"""
import argparse
import json
import os
import os.path as osp

import torch

from mmstvg.utils.runtime_patches import apply_runtime_patches

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Write tiny random SigLIP + Qwen2 '
                                     'checkpoints and the toy tokenizer.')
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument('--image-size', type=int, default=64)
    parser.add_argument('--patch-size', type=int, default=8)
    parser.add_argument('--vision-hidden', type=int, default=64)
    parser.add_argument('--vision-layers', type=int, default=2)
    parser.add_argument('--llm-hidden', type=int, default=128)
    parser.add_argument('--llm-layers', type=int, default=2)
    parser.add_argument('--llm-heads', type=int, default=4)
    parser.add_argument('--llm-kv-heads', type=int, default=2)
    parser.add_argument('--max-positions', type=int, default=4096)
    parser.add_argument('--llm-init-std', type=float, default=0.02,
                        help="the LLM's initializer_range (std of its random weights)")
    parser.add_argument('--chat-template', action='store_true',
                        help='give the tokenizer a ChatML chat template')
    parser.add_argument('--max-seconds', type=float, default=60.0,
                        help='the tokenizer has one time token per 0.1 s up to this '
                        '(for videos longer than 60 s)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def create_toy_pretrained(out_dir: str, image_size: int = 64, patch_size: int = 8,
                          vision_hidden: int = 64, vision_layers: int = 2,
                          llm_hidden: int = 128, llm_layers: int = 2, llm_heads: int = 4,
                          llm_kv_heads: int = 2, max_positions: int = 4096,
                          chat_template: bool = False, seed: int = 0,
                          llm_init_std: float = 0.02, max_seconds: float = 60.0) -> dict:
    """Write the three directories; returns their paths and sizes.

    ``max_seconds`` is the toy tokenizer's last time token (one per 0.1 s).
    """
    torch.manual_seed(seed)
    tokenizer = build_toy_tokenizer(chat_template=chat_template, max_seconds=max_seconds)
    paths = dict(vision=osp.join(out_dir, 'vision'), llm=osp.join(out_dir, 'llm'),
                 tokenizer=osp.join(out_dir, 'tokenizer'))
    for path in paths.values():
        os.makedirs(path, exist_ok=True)
    vision_config = AutoConfig.for_model(
        'siglip_vision_model', hidden_size=vision_hidden,
        intermediate_size=vision_hidden * 2, num_hidden_layers=vision_layers,
        num_attention_heads=max(1, vision_hidden // 32), image_size=image_size,
        patch_size=patch_size)
    vision = AutoModel.from_config(vision_config)
    vision.save_pretrained(paths['vision'])
    llm_config = AutoConfig.for_model(
        'qwen2', hidden_size=llm_hidden, intermediate_size=llm_hidden * 2,
        num_hidden_layers=llm_layers, num_attention_heads=llm_heads,
        num_key_value_heads=llm_kv_heads, vocab_size=len(tokenizer),
        max_position_embeddings=max_positions, tie_word_embeddings=True,
        initializer_range=llm_init_std,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    llm = AutoModelForCausalLM.from_config(llm_config)
    llm.save_pretrained(paths['llm'])
    tokenizer.save_pretrained(paths['tokenizer'])
    info = dict(paths=paths,
                vision_params=sum(p.numel() for p in vision.parameters()),
                llm_params=sum(p.numel() for p in llm.parameters()),
                vocab_size=len(tokenizer),
                tokens_per_frame=(image_size // patch_size)**2)
    with open(osp.join(out_dir, 'toy_pretrained.json'), 'w') as f:
        json.dump(info, f, indent=2)
    return info


def main(argv=None):
    args = parse_args(argv)
    info = create_toy_pretrained(
        args.out_dir, image_size=args.image_size, patch_size=args.patch_size,
        vision_hidden=args.vision_hidden, vision_layers=args.vision_layers,
        llm_hidden=args.llm_hidden, llm_layers=args.llm_layers, llm_heads=args.llm_heads,
        llm_kv_heads=args.llm_kv_heads, max_positions=args.max_positions,
        chat_template=args.chat_template, seed=args.seed,
        llm_init_std=args.llm_init_std, max_seconds=args.max_seconds)
    print(json.dumps(info))


if __name__ == '__main__':
    main()
