"""Issue 32: a second training on a work dir in use fails at start.

A process of its own holds the lock (as a running training does); the
second ``tools/train.py`` fails before it writes a log folder or a checkpoint,
naming the work dir and the holder's pid. A lock file left by a run that is
gone (killed: the kernel dropped its flock) is taken over, and said.
"""
import os
import subprocess
import sys
import time

import pytest

from mmstvg.engine import work_dir_lock
from mmstvg.engine.work_dir_lock import LOCK_NAME, WorkDirLock, WorkDirLockedError

from .conftest import call_main

#: A process that holds the lock until its stdin closes; the module is loaded
#: from its file (no torch, no mmstvg package import), with a stand-in logger.
HOLDER = '''
import importlib.util, sys, types
sys.modules['mmengine.logging'] = types.SimpleNamespace(print_log=print)
sys.modules.setdefault('mmengine', types.ModuleType('mmengine'))
spec = importlib.util.spec_from_file_location('lock', {path!r})
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)
with lock.WorkDirLock({work_dir!r}):
    print('held', flush=True)
    sys.stdin.read()
'''


def start_holder(work_dir) -> subprocess.Popen:
    """Another process that holds ``work_dir``'s lock until its stdin closes."""
    holder = subprocess.Popen(
        [sys.executable, '-c', HOLDER.format(path=work_dir_lock.__file__,
                                             work_dir=str(work_dir))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == 'held'
    return holder


def test_a_second_training_fails_at_start(tmp_path, toy_training):
    work_dir = tmp_path / 'work'
    config, plugin_dir = toy_training
    holder = start_holder(work_dir)
    try:
        with pytest.raises(WorkDirLockedError) as error:
            call_main('train', [config, '--work-dir', work_dir], plugin_dir)
        message = str(error.value)
        assert message.startswith(f'The work dir {work_dir} is in use by another '
                                  f'training (pid {holder.pid} on ')
        assert 'give this one another --work-dir' in message
        assert os.listdir(work_dir) == [LOCK_NAME]  # no log folder, no checkpoint
        with pytest.raises(WorkDirLockedError, match=f'pid {holder.pid} '):
            WorkDirLock(str(work_dir)).acquire()  # the same in process
    finally:
        holder.stdin.close()
        holder.wait(30)
    # the holder ended (and removed its file): the work dir is free
    assert not (work_dir / LOCK_NAME).exists()
    with WorkDirLock(str(work_dir)):
        pass


def test_a_stale_lock_is_taken_over_and_the_run_ends_unlocked(tmp_path, toy_training,
                                                             monkeypatch):
    config, plugin_dir = toy_training
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    # A killed run's lock file: its pid is gone, no process holds the flock.
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    (work_dir / LOCK_NAME).write_text(
        f'{{"pid": {dead.pid}, "host": "h", "started": "2026-12-01 10:00:00", '
        '"command": "tools/train.py x"}')
    said = []
    monkeypatch.setattr(work_dir_lock, 'print_log', lambda msg, **kw: said.append(msg))
    call_main('train', [config, '--work-dir', work_dir], plugin_dir)
    assert said == [f'{work_dir / LOCK_NAME}: taking over the lock of a run that is gone '
                    f'(pid {dead.pid} on h, started 2026-12-01 10:00:00).']
    assert (work_dir / 'iter_4.pth').exists()
    assert not (work_dir / LOCK_NAME).exists()  # released at the end
    # and the work dir is free again
    with WorkDirLock(str(work_dir)):
        assert (work_dir / LOCK_NAME).exists()
    assert not (work_dir / LOCK_NAME).exists()


def test_without_flock_a_live_holder_pid_still_refuses(tmp_path, monkeypatch):
    """File systems without flock: the holder's pid on this host decides."""
    import socket
    work_dir = tmp_path / 'work'
    work_dir.mkdir()

    def no_flock(fd, operation):
        raise OSError(37, 'No locks available')  # ENOLCK

    monkeypatch.setattr(work_dir_lock.fcntl, 'flock', no_flock)
    sleeper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        (work_dir / LOCK_NAME).write_text(
            f'{{"pid": {sleeper.pid}, "host": "{socket.gethostname()}"}}')
        with pytest.raises(WorkDirLockedError, match=f'pid {sleeper.pid} '):
            WorkDirLock(str(work_dir)).acquire()
    finally:
        sleeper.kill()
        sleeper.wait()
    time.sleep(0.1)
    with WorkDirLock(str(work_dir)):  # the holder is gone: taken over
        pass
    with WorkDirLock(str(work_dir), enabled=False):  # ranks other than 0
        assert not (work_dir / LOCK_NAME).exists()
