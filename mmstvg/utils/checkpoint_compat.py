"""Loading MMEngine checkpoints under torch >= 2.6 with mmengine 0.10.7.

torch 2.6 changed ``torch.load``'s default to ``weights_only=True``. MMEngine's
checkpoints hold more than tensors (the message hub, numpy scalars, the config
text), and mmengine 0.10.7 calls ``torch.load`` without ``weights_only``, so
``load_checkpoint`` and ``--resume`` fail (mmengine issue #1655; fixed upstream
after 0.10.7).

The fix lives here and only here: it re-registers MMEngine's loader for local
files (the ``''`` scheme of ``CheckpointLoader``) with one that passes
``weights_only=False``. Everything else — the other schemes, ``torch.load``
itself — is left alone. Like every checkpoint loader, it must only be given
files you trust.

Remove this module (and its call in ``mmstvg/__init__.py``) once the pinned
mmengine is newer than 0.10.7 and its ``load_from_local`` passes
``weights_only`` itself.
"""
import inspect
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader

_PATCHED = False


def _torch_load_is_weights_only_by_default() -> bool:
    params = inspect.signature(torch.load).parameters
    if 'weights_only' not in params:
        return False
    major, minor = (int(v) for v in torch.__version__.split('.')[:2])
    return (major, minor) >= (2, 6)


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local MMEngine checkpoint, allowing non-tensor objects in it.

    Args:
        filename: path of the checkpoint file.
        map_location: as in ``torch.load``.

    Returns:
        The loaded checkpoint (a dict, usually).

    Raises:
        FileNotFoundError: if ``filename`` does not exist.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def patch_mmengine_checkpoint_loading() -> bool:
    """Make MMEngine's local checkpoint loading work with torch >= 2.6.

    Idempotent.

    Returns:
        Whether the patch is in effect.
    """
    global _PATCHED
    if _PATCHED or not _torch_load_is_weights_only_by_default():
        return _PATCHED
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_local_checkpoint)
    _PATCHED = True
    return True
