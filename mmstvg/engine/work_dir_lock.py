"""A lock that keeps a second training out of a work dir in use (ours).

Two trainings on one ``--work-dir`` share MMEngine's timestamped log folder,
interleave their iterations in one log and ``scalars.json``, overwrite each
other's checkpoints and prune each other's files. ``tools/train.py`` holds a
:class:`WorkDirLock` for the whole run: the second run fails at start, naming
the work dir and the other run's pid.

The lock is an ``fcntl.flock`` on ``<work_dir>/.train.lock``, whose text names
the holder (pid, host, start time, command). The kernel releases a flock when
its process dies, however it dies, so a lock file left by a killed run is
stale and is taken over (and said). Where a file system has no flock, the
holder's pid is checked instead (same host: alive or not).
"""
import errno
import fcntl
import json
import os
import os.path as osp
import socket
import sys
import time
from typing import Optional

from mmengine.logging import print_log

__all__ = ['WorkDirLock', 'WorkDirLockedError', 'LOCK_NAME', 'launcher_rank']

LOCK_NAME = '.train.lock'
_WARNING = 30


class WorkDirLockedError(RuntimeError):
    """Another run holds the work dir."""


def launcher_rank(launcher: str = 'none') -> int:
    """This process' global rank, read from the launcher's environment (before
    the process group exists): only rank 0 takes the lock."""
    names = {'slurm': ('SLURM_PROCID', ), 'mpi': ('OMPI_COMM_WORLD_RANK', 'PMI_RANK')}
    for name in ('RANK', ) + names.get(launcher, ()):
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _read_holder(path: str) -> dict:
    try:
        with open(path) as file:
            return json.loads(file.read() or '{}')
    except (OSError, ValueError):
        return {}


class WorkDirLock:
    """Hold ``<work_dir>/.train.lock`` while a training runs (a context manager).

    Args:
        work_dir: the run's work dir (made if missing).
        enabled: False makes this a no-op (ranks other than 0).

    Raises:
        WorkDirLockedError: from :meth:`acquire` when another live run holds
            the work dir; the message names the work dir, the other run's pid,
            host, start time and command.
    """

    def __init__(self, work_dir: str, enabled: bool = True):
        self.work_dir = str(work_dir)
        self.path = osp.join(self.work_dir, LOCK_NAME)
        self.enabled = enabled
        self._fd: Optional[int] = None

    def __enter__(self) -> 'WorkDirLock':
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _refuse(self, holder: dict) -> None:
        pid = holder.get('pid')
        gone = (isinstance(pid, int) and holder.get('host') == socket.gethostname()
                and not _pid_alive(pid))
        raise WorkDirLockedError(
            f'The work dir {self.work_dir} is in use by another training (pid '
            f"{pid if pid is not None else '?'} on {holder.get('host', '?')}, started "
            f"{holder.get('started', '?')}: {holder.get('command', '?')})"
            + ('; that pid is gone, but a process it forked (a data-loader worker) '
               'still holds the lock and should end within seconds' if gone else '')
            + ". Two runs in one work dir overwrite and prune each other's checkpoints "
            'and logs: give this one another --work-dir, or wait for that one to end. '
            f'({self.path})')

    def acquire(self) -> None:
        """Take the lock, or raise :class:`WorkDirLockedError`."""
        if not self.enabled or self._fd is not None:
            return
        os.makedirs(self.work_dir, exist_ok=True)
        while True:
            existed = osp.exists(self.path)
            previous = _read_holder(self.path) if existed else {}
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                os.close(fd)
                if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    self._refuse(_read_holder(self.path))
                if self._held_by_live_process(previous):  # no flock on this file system
                    self._refuse(previous)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            # The file may have been released and removed between open and
            # flock: then this lock is on a file nobody else sees; take again.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        if previous.get('pid') and previous.get('pid') != os.getpid():
            print_log(f'{self.path}: taking over the lock of a run that is gone (pid '
                      f"{previous.get('pid')} on {previous.get('host', '?')}, started "
                      f"{previous.get('started', '?')}).", logger='current', level=_WARNING)
        holder = dict(pid=os.getpid(), host=socket.gethostname(),
                      started=time.strftime('%Y-%m-%d %H:%M:%S'),
                      command=' '.join(sys.argv))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd

    @staticmethod
    def _held_by_live_process(holder: dict) -> bool:
        pid = holder.get('pid')
        return (isinstance(pid, int) and pid != os.getpid()
                and holder.get('host') == socket.gethostname() and _pid_alive(pid))

    def release(self) -> None:
        """Remove the lock file and let go (the kernel lets go anyway at exit)."""
        if self._fd is None:
            return
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        os.close(self._fd)  # closing releases the flock
        self._fd = None
