"""Export a trained base video LLM as an lmms-lab ``llava_qwen`` checkpoint.

The stage-1 base (``configs/base_pretrain/``) is written in the layout
LLaVA-Video-7B-Qwen2 ships in (``config.json`` with ``mm_*`` keys,
``model.safetensors``, the tokenizer), so that grounding configs load it as
they load LLaVA-Video: ``model.llava_onevision_path=OUT_DIR``
(:mod:`mmstvg.models.utils.llava_export`).

Example:
    python tools/model_converters/export_llava_qwen.py \\
        configs/base_pretrain/llava_video_tiny_stage2_sft.py \\
        work_dirs/llava_video_tiny_stage2_sft/iter_2000.pth data/pretrained/llava_video_tiny
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmengine.config import Config  # noqa: E402

from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402


def parse_args(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(description='Export a base as a llava_qwen checkpoint')
    parser.add_argument('config', help='the training config of the base')
    parser.add_argument('checkpoint', help='the trained MMEngine checkpoint (.pth)')
    parser.add_argument('out_dir', help='the llava_qwen directory to write')
    parser.add_argument('--vision-tower-name', default='mmstvg/siglip-base-pretrain',
                        help="the config's mm_vision_tower")
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)


def export(cfg: Config, checkpoint: str, out_dir: str,
           vision_tower_name: str = 'mmstvg/siglip-base-pretrain') -> str:
    """Build the config's model, load ``checkpoint`` and write ``out_dir``."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmengine.utils import import_modules_from_strings

    from mmstvg.models.utils.llava_export import export_llava_qwen
    from mmstvg.registry import MODELS
    if cfg.get('custom_imports', None):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmstvg'))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return export_llava_qwen(model.eval(), out_dir, vision_tower_name=vision_tower_name)


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    out = export(cfg, args.checkpoint, args.out_dir, args.vision_tower_name)
    print(f'wrote the llava_qwen checkpoint {out}')
    return out


if __name__ == '__main__':
    main()
