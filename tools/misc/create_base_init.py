"""Write the random initial parts of the stage-1 base video LLM (``configs/base_pretrain/``).

Usage::

    python tools/misc/create_base_init.py configs/base_pretrain/llava_video_tiny_stage1_align.py

reads the config's top-level ``base_init`` (a directory), ``base_vision_config``
(a SigLIP vision config) and ``base_llm_config`` (a Qwen2 config) and writes,
each with ``save_pretrained`` so that the config loads them through the real
``from_pretrained`` path:

- ``base_init/vision``: a random ``SiglipVisionModel``;
- ``base_init/llm``: a random ``Qwen2ForCausalLM`` over the real Qwen2
  vocabulary (the config's ``base_tokenizer_ranks`` BPE ranks, all 151,643
  when unset, and the three ChatML special tokens), with Qwen2-7B-Instruct's stop tokens in its generation config;
- ``base_init/tokenizer``: Qwen2-7B-Instruct's tokenizer, rebuilt offline from
  the ``dashscope`` wheel's ``qwen.tiktoken`` (cut to its first
  ``base_tokenizer_ranks`` ranks when the config sets it)
  (:mod:`mmstvg.testing.qwen2_tokenizer`). It has its own directory: transformers
  picks a tokenizer's class from a ``config.json`` beside its files.

Nothing is downloaded. The same seed writes the same weights.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402


def parse_args(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(description='Write the random initial parts of a '
                                     'base_pretrain config')
    parser.add_argument('config', help='a configs/base_pretrain/ config')
    parser.add_argument('--out-dir', help="where to write (default: the config's base_init)")
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def create_base_init(out_dir: str, vision_config: dict, llm_config: dict,
                     seed: int = 0, tokenizer_ranks: Optional[int] = None) -> dict:
    """Write ``out_dir/{vision,llm,tokenizer}``; returns their paths.

    Args:
        out_dir: the output directory.
        vision_config: ``dict(model_type='siglip_vision_model', ...)``.
        llm_config: ``dict(model_type='qwen2', ...)`` (``vocab_size`` is the
            tokenizer's when absent).
        seed: the random seed of the weights.
        tokenizer_ranks: keep Qwen2's first N BPE ranks (all when None; see
            :func:`~mmstvg.testing.qwen2_tokenizer.build_qwen2_tokenizer`).
    """
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    from mmstvg.testing.qwen2_tokenizer import build_qwen2_tokenizer
    torch.manual_seed(seed)
    paths = {name: osp.join(out_dir, name) for name in ('vision', 'llm', 'tokenizer')}
    tokenizer = build_qwen2_tokenizer(num_ranks=tokenizer_ranks)
    tokenizer.save_pretrained(paths['tokenizer'])
    vision = dict(vision_config)
    vision = AutoModel.from_config(AutoConfig.for_model(vision.pop('model_type'), **vision))
    vision.save_pretrained(paths['vision'])
    text = dict(llm_config)
    text.setdefault('vocab_size', len(tokenizer))
    text.setdefault('bos_token_id', tokenizer.convert_tokens_to_ids('<|endoftext|>'))
    text.setdefault('eos_token_id', tokenizer.eos_token_id)
    text.setdefault('pad_token_id', tokenizer.pad_token_id)
    llm = AutoModelForCausalLM.from_config(AutoConfig.for_model(text.pop('model_type'), **text))
    # Qwen2-Instruct ends a turn with <|im_end|> or <|endoftext|>.
    llm.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.pad_token_id]
    llm.save_pretrained(paths['llm'])
    with open(osp.join(out_dir, 'base_init.json'), 'w') as f:
        json.dump(dict(paths=paths, seed=seed, tokenizer_ranks=tokenizer_ranks,
                       vision_config=vision_config,
                       llm_config=llm_config), f, indent=2)
    return paths


def main(argv: Optional[List[str]] = None) -> dict:
    from mmengine.config import Config

    from mmstvg.utils.runtime_patches import apply_runtime_patches
    args = parse_args(argv)
    apply_runtime_patches()  # mmstvg/utils/runtime_patches.py
    cfg = Config.fromfile(args.config)
    out_dir = args.out_dir or cfg.base_init
    paths = create_base_init(out_dir, cfg.base_vision_config.to_dict(),
                             cfg.base_llm_config.to_dict(), seed=args.seed,
                             tokenizer_ranks=cfg.get('base_tokenizer_ranks'))
    os.makedirs(out_dir, exist_ok=True)
    print(f'wrote the initial base parts to {out_dir}: {sorted(paths)}')
    return paths


if __name__ == '__main__':
    main()
