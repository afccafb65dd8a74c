"""Export a checkpoint's model weights as a ``.safetensors`` file for sharing.

A ``.pth`` checkpoint is a pickle; a ``.safetensors`` file holds only tensors
and a string-to-string header, so loading one can never run code. The export
keeps the model's ``state_dict`` (a DDP ``module.`` prefix stripped) and, as
header metadata, the training step and versions from the checkpoint's
``meta``; optimizer and scheduler states are dropped (a weights-only file
cannot ``--resume``).

mmstvg loads the result wherever it loads a checkpoint: ``tools/test.py CONFIG
model.safetensors``, ``load_from``, ``GroundingInferencer(cfg, 'model.safetensors')``
and the demo.

Example::

    python tools/misc/export_safetensors.py work_dirs/spacevllm_toy/iter_3000.pth \
        work_dirs/spacevllm_toy/spacevllm_toy.safetensors
"""
import argparse
import os.path as osp
import sys
from typing import Dict

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from safetensors.torch import save as save_safetensors  # noqa: E402

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from mmstvg.utils import atomic_write, load_local_checkpoint  # noqa: E402
from mmstvg.utils.checkpoint_compat import unsafe_checkpoint_loading  # noqa: E402
from mmstvg.utils.checkpoint_keys import checkpoint_state_dict  # noqa: E402

#: ``meta`` entries copied into the header (as strings).
META_KEYS = ('epoch', 'iter', 'seed', 'experiment_name', 'time', 'mmengine_version')


def export_safetensors(checkpoint_path: str, out_path: str,
                       unsafe_load: bool = False) -> Dict[str, int]:
    """Write the model weights of a checkpoint as a safetensors file.

    Args:
        checkpoint_path: an MMEngine checkpoint (``{'state_dict', 'meta', ...}``)
            or a bare state dict.
        out_path: the ``.safetensors`` file to write (atomically).
        unsafe_load: fully unpickle the source (trusted old files only).

    Returns:
        ``{'num_tensors', 'num_elements', 'num_skipped'}``: tensors written,
        their total size, and non-tensor entries of the state dict left out.

    Raises:
        ValueError: ``out_path`` does not end with ``.safetensors``, or the
            checkpoint holds no tensor where MMEngine reads the weights (its
            ``state_dict`` or its top level: weights nested under another
            key), so the file would hold none.
    """
    if not out_path.endswith('.safetensors'):
        raise ValueError(f'{out_path}: the output must end with .safetensors')
    if unsafe_load:
        with unsafe_checkpoint_loading():
            checkpoint = load_local_checkpoint(checkpoint_path, map_location='cpu')
    else:
        checkpoint = load_local_checkpoint(checkpoint_path, map_location='cpu')
    tensors, skipped, seen = {}, 0, set()
    for key, value in checkpoint_state_dict(checkpoint).items():
        if not isinstance(value, torch.Tensor):
            skipped += 1
            continue
        value = value.detach().contiguous()
        # safetensors refuses tensors sharing memory (tied weights): copy those.
        pointer = (value.untyped_storage().data_ptr(), value.storage_offset())
        if pointer in seen:
            value = value.clone()
        seen.add(pointer)
        tensors[key] = value
    if not tensors:
        nested = [key for key, value in checkpoint.items() if isinstance(value, dict)
                  and any(isinstance(v, torch.Tensor) for v in value.values())]
        raise ValueError(
            f'{checkpoint_path} holds no tensor where MMEngine reads the weights (its '
            f"'state_dict', or its top level: keys {sorted(map(str, checkpoint))[:8]}); "
            f'nothing is written to {out_path}.'
            + (f' The weights seem to be under {nested[0]!r}: re-save the file as '
               f"{{'state_dict': checkpoint[{nested[0]!r}]}}." if nested else ''))
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
    header = {key: str(meta[key]) for key in META_KEYS if key in meta}
    header.update(format='mmstvg-weights', source=osp.basename(checkpoint_path))
    atomic_write(save_safetensors(tensors, metadata=header), out_path)
    return dict(num_tensors=len(tensors),
                num_elements=sum(t.numel() for t in tensors.values()),
                num_skipped=skipped)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export model weights as safetensors')
    parser.add_argument('checkpoint', help='the .pth checkpoint')
    parser.add_argument('out', help='the .safetensors file to write')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='fully unpickle the checkpoint (trusted old files only: '
                        'this can run code stored in it)')
    return parser.parse_args(argv)


def main(argv=None) -> Dict[str, int]:
    args = parse_args(argv)
    counts = export_safetensors(args.checkpoint, args.out, args.unsafe_load)
    print(f'wrote {args.out}: {counts["num_tensors"]} tensors, '
          f'{counts["num_elements"]} values'
          + (f' ({counts["num_skipped"]} non-tensor entries left out)'
             if counts['num_skipped'] else ''))
    return counts


if __name__ == '__main__':
    main()
