"""Merge a trained model's LoRA adapters into its LLM weights.

The output is an MMEngine-style checkpoint (``{'meta', 'state_dict'}``, tensors
only) of the same grounder *without* LoRA, which ``tools/test.py`` (or
``load_from``) loads with the plain config, i.e. the training config minus
``model.llm.lora``; ``--out-config`` writes that config.

Example:
    python tools/misc/merge_lora.py configs/my_lora_config.py \\
        work_dirs/my_lora_config/iter_1000.pth work_dirs/merged.pth \\
        --out-config work_dirs/merged_config.py
    python tools/test.py work_dirs/merged_config.py work_dirs/merged.pth
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config  # noqa: E402

from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402


def parse_args(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(description='Merge LoRA adapters into the LLM')
    parser.add_argument('config', help='the training config (with model.llm.lora)')
    parser.add_argument('checkpoint', help='the trained checkpoint (.pth)')
    parser.add_argument('out', help='the merged checkpoint to write (.pth)')
    parser.add_argument('--out-config', help='also write the plain config (no LoRA)')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)


def plain_config(cfg: Config) -> Config:
    """The config without LoRA (what the merged checkpoint is loaded with)."""
    plain = Config(cfg.to_dict(), filename=cfg.filename)
    plain.model.llm.pop('lora', None)
    return plain


def merge_lora(cfg: Config, checkpoint: str, out: str) -> dict:
    """Build the LoRA model, load ``checkpoint``, merge, save to ``out``.

    Returns:
        ``{'merged_modules': n, 'tensors': m}``.
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmengine.utils import import_modules_from_strings

    from mmstvg.registry import MODELS
    if not cfg.model.get('llm', {}).get('lora'):
        raise ValueError(f'{cfg.filename}: model.llm.lora is not set: nothing to merge')
    if cfg.get('custom_imports', None):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    peft_model = model.llm.model
    if not hasattr(peft_model, 'merge_and_unload'):
        raise TypeError(f'{checkpoint}: the built LLM has no LoRA adapters')
    merged = sum(1 for name, _ in peft_model.named_modules() if name.endswith('lora_A'))
    model.llm.model = peft_model.merge_and_unload()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(dict(meta=dict(merged_lora_from=osp.abspath(checkpoint)), state_dict=state),
               out)
    return dict(merged_modules=merged, tensors=len(state))


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    info = merge_lora(cfg, args.checkpoint, args.out)
    if args.out_config:
        plain_config(cfg).dump(args.out_config)
    print(f'merged {info["merged_modules"]} LoRA modules; wrote {info["tensors"]} '
          f'tensors to {args.out}')
    return info


if __name__ == '__main__':
    main()
