"""Turn a DeepSpeed checkpoint directory into one ordinary MMEngine checkpoint file.

Under ``--strategy deepspeed_zero2|zero3`` MMEngine saves what DeepSpeed saves:
a directory (``work_dir/iter_N.pth/``) with one model-states file and one
optimizer-states file per rank, the fp32 master weights split across the
latter. ``tools/test.py``, the inferencer and the plain Runner read one file.
:func:`resolve_checkpoint` gathers the fp32 weights with DeepSpeed's own
``zero_to_fp32`` and writes ``{'state_dict': ..., 'meta': ...}`` once; a
file path is returned unchanged.
"""
import glob
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log

__all__ = ['is_deepspeed_checkpoint', 'resolve_checkpoint', 'convert_deepspeed_checkpoint']

_MODEL_STATES = '*mp_rank_*_model_states.pt'


def is_deepspeed_checkpoint(path: str) -> bool:
    """Whether ``path`` is a directory written by ``DeepSpeedEngine.save_checkpoint``."""
    return osp.isdir(path) and bool(glob.glob(osp.join(path, _MODEL_STATES)))


def convert_deepspeed_checkpoint(path: str, out_file: str) -> str:
    """Write the fp32 weights of a ZeRO-1/2/3 checkpoint directory as one file.

    Args:
        path: the DeepSpeed checkpoint directory (``.../iter_3.pth``).
        out_file: the MMEngine checkpoint to write.

    Returns:
        ``out_file``.

    Raises:
        ValueError: if ``path`` is not a DeepSpeed checkpoint directory.
    """
    if not is_deepspeed_checkpoint(path):
        raise ValueError(f'{path}: not a DeepSpeed checkpoint directory (no '
                         f'{_MODEL_STATES} file in it)')
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
    path = osp.abspath(path.rstrip('/'))
    state_dict = get_fp32_state_dict_from_zero_checkpoint(
        osp.dirname(path), tag=osp.basename(path))
    state_dict = {key: value.detach().float().clone() if value.is_floating_point()
                  else value.detach().clone() for key, value in state_dict.items()}
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    tmp_file = out_file + '.tmp'
    torch.save(dict(state_dict=state_dict,
                    meta=dict(converted_from=path, converter='deepspeed.zero_to_fp32')),
               tmp_file)
    os.replace(tmp_file, out_file)
    print_log(f'converted the DeepSpeed checkpoint {path} ({len(state_dict)} tensors, '
              f'fp32) to {out_file}', logger='current')
    return out_file


def resolve_checkpoint(path: str, work_dir: Optional[str] = None) -> str:
    """A checkpoint file MMEngine's ``load_checkpoint`` reads.

    A DeepSpeed directory is converted (by the main process; the others wait)
    to ``<work_dir or its parent>/<name>.fp32.pth``, reused while it is newer
    than the directory's files. Anything else is returned unchanged.

    Args:
        path: a checkpoint file or DeepSpeed checkpoint directory.
        work_dir: where to write the converted file.

    Returns:
        The path to load.
    """
    if path is None or not is_deepspeed_checkpoint(path):
        return path
    name = osp.basename(osp.abspath(path.rstrip('/')))
    out_dir = work_dir or osp.dirname(osp.abspath(path.rstrip('/')))
    out_file = osp.join(out_dir, osp.splitext(name)[0] + '.fp32.pth')
    newest = max(osp.getmtime(f) for f in glob.glob(osp.join(path, '*')))
    if is_main_process() and not (osp.isfile(out_file) and osp.getmtime(out_file) >= newest):
        convert_deepspeed_checkpoint(path, out_file)
    barrier()
    return out_file
