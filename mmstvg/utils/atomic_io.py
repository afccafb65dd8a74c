"""Writes that never leave a half-written file under the final name (ours).

A checkpoint or a predictions dump written in place is truncated when the job
is killed or the disk fills up mid-write, and a later ``--resume`` or
evaluation reads the broken file. Here every write goes to a temporary file
next to the target (``.<name>.tmp-<pid>``), is flushed to disk and then
renamed over the target (``os.replace`` is atomic on POSIX and Windows): the
target is either the old file or the whole new one.

:func:`patch_mmengine_local_writes` makes MMEngine's ``LocalBackend.put`` /
``put_text`` write this way. Everything MMEngine writes through its file
backends goes there: checkpoints (``runner.save_checkpoint`` and the
``CheckpointHook``), the ``last_checkpoint`` pointer, and ``mmengine.dump``
(the metrics' predictions dumps). It is applied by
:func:`~mmstvg.utils.apply_runtime_patches` (the tools, the runner builder and
``register_all_modules`` call it); importing mmstvg patches nothing.
"""
import glob
import os
import os.path as osp
import tempfile
from typing import List, Union

from mmengine.fileio.backends.local_backend import LocalBackend

__all__ = ['TEMP_MARKER', 'temporary_path', 'atomic_write', 'left_over_temporaries',
           'check_writable', 'patch_mmengine_local_writes', 'local_writes_patched']

#: Part of the name of every temporary file written here.
TEMP_MARKER = '.tmp-'


def temporary_path(path: str) -> str:
    """Where :func:`atomic_write` writes ``path`` before renaming it."""
    directory, name = osp.split(osp.abspath(path))
    return osp.join(directory, f'.{name}{TEMP_MARKER}{os.getpid()}')


def atomic_write(data: Union[bytes, str], path: str, encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    Args:
        data: bytes, or text (encoded with ``encoding``).
        path: the target file; its directory is created.
        encoding: the text encoding.
    """
    path = str(path)
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temp = temporary_path(path)
    payload = data.encode(encoding) if isinstance(data, str) else data
    try:
        with open(temp, 'wb') as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        # A Python-level failure (disk full, interrupt): remove the partial
        # file. A killed process leaves it; `left_over_temporaries` finds it.
        if osp.exists(temp):
            os.remove(temp)
        raise


def left_over_temporaries(directory: str) -> List[str]:
    """Temporary files of interrupted :func:`atomic_write` calls in ``directory``."""
    return sorted(glob.glob(osp.join(glob.escape(directory), f'.*{TEMP_MARKER}*')))


def check_writable(path: str, what: str, is_dir: bool = False) -> None:
    """Fail now, not after a long run, when ``path`` cannot be written.

    Creates the directory (of) ``path`` and a probe file in it, then removes
    the probe.

    Args:
        path: a file to be written (or a directory with ``is_dir``).
        what: how the user named it (``'--out-prefix'``...), for the message.
        is_dir: ``path`` is a directory.

    Raises:
        PermissionError: naming ``what``, the path and the reason.
    """
    directory = path if is_dir else osp.dirname(osp.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix='.write-probe-'):
            pass
    except OSError as error:
        raise PermissionError(f'{what} {path}: cannot write in {directory} '
                              f'({error.strerror or error}); nothing was run.') from error


def _put(self, obj: bytes, filepath) -> None:
    atomic_write(obj, str(filepath))


def _put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
    atomic_write(obj, str(filepath), encoding=encoding)


def patch_mmengine_local_writes() -> bool:
    """Make ``LocalBackend.put`` / ``put_text`` atomic. Idempotent.

    Returns:
        Whether the patch is in effect.
    """
    if not local_writes_patched():
        _put.__doc__ = LocalBackend.put.__doc__
        _put_text.__doc__ = LocalBackend.put_text.__doc__
        LocalBackend.put = _put
        LocalBackend.put_text = _put_text
    return True


def local_writes_patched() -> bool:
    """Whether ``LocalBackend.put`` / ``put_text`` write atomically now."""
    return LocalBackend.put is _put and LocalBackend.put_text is _put_text
