"""Safe checkpoint loading for MMEngine's ``load_checkpoint``, ``load_from`` and ``--resume``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``. A checkpoint is
a pickle, and unpickling runs whatever functions the file names, so loading a
``.pth`` someone sent you can run code on your machine.
:func:`patch_mmengine_checkpoint_loading` (called by
:func:`~mmstvg.utils.apply_runtime_patches`, not on import) re-registers
MMEngine's loader for local files (the ``''`` scheme of
``CheckpointLoader``) with :func:`load_local_checkpoint`, which unpickles with
``torch.load(weights_only=True)`` and an explicit allow-list of the few
non-tensor types MMEngine and mmstvg write (:data:`SAFE_CHECKPOINT_GLOBALS`):
the message hub's ``HistoryBuffer`` (and the names of its statistics
methods), numpy arrays, scalars and dtypes, ``ConfigDict``. Anything else is
refused with :class:`UnsafeCheckpointError`, naming the file and the types.

Trusted old files that hold other objects load with the explicit opt-in
:func:`allow_unsafe_checkpoint_loading` (``--unsafe-load`` on the tools,
``unsafe_load=True`` in a config or for :class:`~mmstvg.apis.GroundingInferencer`).
``.safetensors`` files (``tools/misc/export_safetensors.py``) load as
``{'state_dict': tensors, 'meta': their metadata}`` and can never hold code.
"""
import contextlib
import os.path as osp
import pickle
import sys
import zipfile
from typing import Callable, Dict, Iterator, List, Optional

import numpy as np
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer, print_log

__all__ = [
    'SAFE_CHECKPOINT_GLOBALS', 'UnsafeCheckpointError', 'CorruptCheckpointError',
    'load_local_checkpoint', 'allow_unsafe_checkpoint_loading',
    'unsafe_checkpoint_loading', 'unsafe_loading_allowed',
    'patch_mmengine_checkpoint_loading', 'checkpoint_loading_patched',
    'checkpoint_integrity_error'
]

_UNSAFE_ALLOWED = False

OPT_IN_HINT = ('If you trust this file, load it with --unsafe-load (tools/train.py, '
               'tools/test.py, demo/video_demo.py), `unsafe_load = True` in the config '
               'or GroundingInferencer(..., unsafe_load=True).')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint names a type or function outside the allow-list."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file cannot be read (truncated, corrupt, not a checkpoint)."""


def _history_buffer_statistic(owner, name: str):
    """Stands in for ``builtins.getattr`` while unpickling (ours).

    A pickled ``HistoryBuffer`` refers to its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. A general ``getattr`` would let a
    file reach any attribute of any allowed object (``ndarray.tofile``...),
    so only these look-ups are answered.
    """
    if owner is HistoryBuffer and isinstance(name, str) and (
            name in HistoryBuffer._statistics_methods
            or name in ('min', 'max', 'mean', 'current')):
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f'getattr({owner!r}, {name!r}) is not an allowed look-up in a checkpoint')


def _numpy_dtype_classes() -> List[type]:
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is None:
        return []
    return [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]


def _safe_globals() -> List:
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    entries: List = [
        HistoryBuffer,
        ConfigDict,
        np.ndarray,
        np.dtype,
        (_history_buffer_statistic, 'builtins.getattr'),
    ]
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    entries.extend(_numpy_dtype_classes())
    return entries


#: What a checkpoint may hold besides tensors and builtin containers: the
#: types MMEngine 0.10.7's Runner and mmstvg write (found with
#: ``torch.serialization.get_unsafe_globals_in_checkpoint`` on checkpoints
#: saved by ``tools/train.py``: HistoryBuffer, numpy ``_reconstruct``,
#: ``scalar``, ``ndarray``, ``dtype`` and ``getattr`` for HistoryBuffer's
#: statistics), plus ConfigDict and numpy's dtype classes.
SAFE_CHECKPOINT_GLOBALS: List = _safe_globals()


def _allowed_names() -> set:
    names = set()
    for entry in SAFE_CHECKPOINT_GLOBALS:
        if isinstance(entry, tuple):
            names.add(entry[1])
        else:
            names.add(f'{entry.__module__}.{entry.__qualname__}')
    return names


def unsafe_loading_allowed() -> bool:
    """Whether :func:`allow_unsafe_checkpoint_loading` is in effect."""
    return _UNSAFE_ALLOWED


def allow_unsafe_checkpoint_loading(enabled: bool = True) -> None:
    """Opt in (or back out) of full unpickling for this process.

    Only for checkpoints you trust: unpickling a file can run any code.

    Args:
        enabled: True to unpickle everything; False restores the default.
    """
    global _UNSAFE_ALLOWED
    if enabled and not _UNSAFE_ALLOWED:
        print_log('Unsafe checkpoint loading is ON: checkpoints are fully '
                  'unpickled, which can run code stored in them. Use it only '
                  'for files you trust.', logger='current', level=30)
    _UNSAFE_ALLOWED = bool(enabled)


@contextlib.contextmanager
def unsafe_checkpoint_loading(enabled: bool = True) -> Iterator[None]:
    """Context manager form of :func:`allow_unsafe_checkpoint_loading`."""
    previous = _UNSAFE_ALLOWED
    allow_unsafe_checkpoint_loading(enabled)
    try:
        yield
    finally:
        allow_unsafe_checkpoint_loading(previous)


def checkpoint_integrity_error(filename: str, check_crc: bool = True) -> Optional[str]:
    """Why a ``torch.save`` zip file is unreadable, or None when it is intact.

    Args:
        filename: a checkpoint path.
        check_crc: also read every record and check its CRC (catches
            corruption inside the file; reads the whole file once).

    Returns:
        A short reason (truncated, corrupt record...) or None.
    """
    if not osp.isfile(filename):
        return 'no such file'
    if osp.getsize(filename) == 0:
        return 'empty file'
    if filename.endswith('.safetensors'):
        try:
            from safetensors import safe_open
            with safe_open(filename, framework='pt') as file:
                file.keys()
        except Exception as error:  # noqa: BLE001 (any reader failure)
            return f'unreadable safetensors file ({error})'
        return None
    try:
        with zipfile.ZipFile(filename) as archive:
            if not any(name.endswith('data.pkl') for name in archive.namelist()):
                return 'no data.pkl record (not a torch.save file)'
            if check_crc:
                bad = archive.testzip()
                if bad is not None:
                    return f'record {bad} fails its CRC check (corrupt)'
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        return f'truncated or corrupt ({error})'
    return None


def _load_safetensors(filename: str, map_location) -> Dict:
    from safetensors import safe_open
    from safetensors.torch import load_file
    device = map_location if isinstance(map_location, str) else 'cpu'
    with safe_open(filename, framework='pt') as file:
        metadata = dict(file.metadata() or {})
    return dict(state_dict=load_file(filename, device=device), meta=metadata)


def _refusal(filename: str, error: Exception) -> UnsafeCheckpointError:
    import torch
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
        names = sorted(set(found) - _allowed_names())
    except Exception:  # noqa: BLE001 (legacy formats: fall back to torch's text)
        names = []
    what = (f'the type(s)/function(s) {", ".join(names)}' if names
            else f'objects torch refuses ({error})')
    return UnsafeCheckpointError(
        f'{filename}: refusing to load this checkpoint: it holds {what}, which are '
        'not on mmstvg\'s allow-list of checkpoint types (tensors, numpy arrays/'
        'scalars/dtypes, MMEngine HistoryBuffer and ConfigDict). Unpickling it '
        f'could run code stored in it. {OPT_IN_HINT}')


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint without unpickling code (unless opted in).

    Args:
        filename: path of a ``torch.save`` file or a ``.safetensors`` file.
        map_location: as in ``torch.load``.

    Returns:
        The loaded checkpoint (a dict, usually).

    Raises:
        FileNotFoundError: if ``filename`` does not exist.
        UnsafeCheckpointError: if the file holds a type outside
            :data:`SAFE_CHECKPOINT_GLOBALS` (and unsafe loading is off).
        CorruptCheckpointError: if the file is truncated or corrupt.
    """
    import torch  # here, not at import: importing mmstvg.utils needs no torch
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if filename.endswith('.safetensors'):
        return _load_safetensors(filename, map_location)
    try:
        if _UNSAFE_ALLOWED:
            return torch.load(filename, map_location=map_location, weights_only=False)
        with torch.serialization.safe_globals(SAFE_CHECKPOINT_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if isinstance(error, UnsafeCheckpointError) or _UNSAFE_ALLOWED:
            raise
        reason = checkpoint_integrity_error(filename, check_crc=False)
        if reason is not None:
            raise CorruptCheckpointError(f'{filename}: cannot read the checkpoint: '
                                         f'{reason}') from error
        raise _refusal(filename, error) from error
    except (RuntimeError, OSError, EOFError, zipfile.BadZipFile) as error:
        reason = checkpoint_integrity_error(filename, check_crc=False) or str(error)
        raise CorruptCheckpointError(
            f'{filename}: cannot read the checkpoint: {reason}') from error


def patch_mmengine_checkpoint_loading(loader: Callable = load_local_checkpoint) -> bool:
    """Route MMEngine's local checkpoint loading through :func:`load_local_checkpoint`.

    Idempotent: the loader is registered only when it is not already the one
    for local files. Called by :func:`~mmstvg.utils.apply_runtime_patches`
    (importing mmstvg patches nothing). ``mmengine.runner`` is imported here,
    not when this module is (it imports DeepSpeed, peft and transformers'
    optimizers: seconds).

    Args:
        loader: the function that loads a local file
            (``loader(filename, map_location)``).

    Returns:
        Whether the patch is in effect.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    if CheckpointLoader._schemes.get('') is not loader:
        CheckpointLoader.register_scheme(prefixes='', force=True)(loader)
    return True


def checkpoint_loading_patched(loader: Callable = load_local_checkpoint) -> bool:
    """Whether MMEngine loads local checkpoints with ``loader`` now.

    Imports nothing: when ``mmengine.runner`` has not been imported yet,
    nothing can have patched it.
    """
    module = sys.modules.get('mmengine.runner.checkpoint')
    return module is not None and module.CheckpointLoader._schemes.get('') is loader
