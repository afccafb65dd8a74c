"""Item 3 of issue 15: atomic saves, a resume that skips broken checkpoints, early checks.

The fault-injection test kills a training process in the middle of writing a
checkpoint (its temporary file is left behind); ``--resume`` then continues
from the last intact checkpoint and ends exactly where an uninterrupted run
ends: same weights, optimizer state and loss history.
"""
import multiprocessing
import os
import shutil
import signal

import mmengine
import numpy as np
import pytest
import torch
from mmengine.fileio.backends.local_backend import LocalBackend

from mmstvg.utils.atomic_io import TEMP_MARKER, _put, _put_text, left_over_temporaries
from mmstvg.utils.checkpoint_compat import CorruptCheckpointError

from .conftest import call_main, grounder_config_file


def load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def assert_same_run(reference, resumed):
    """Same step, weights, AdamW state and whole loss history."""
    full, other = load(reference), load(resumed)
    assert full['meta']['iter'] == other['meta']['iter'] == 4
    for key, value in full['state_dict'].items():
        assert torch.equal(value, other['state_dict'][key]), key
    for index, state in full['optimizer']['state'].items():
        assert float(state['step']) == float(other['optimizer']['state'][index]['step'])
        assert torch.equal(state['exp_avg'], other['optimizer']['state'][index]['exp_avg'])
    history = lambda c: c['message_hub']['log_scalars']['train/loss'].data[0]  # noqa
    assert len(history(full)) == 4
    assert np.array_equal(history(full), history(other))


@pytest.fixture
def said(monkeypatch):
    """What --resume logs, line by line."""
    lines = []
    monkeypatch.setattr('mmstvg.engine.run_safety._log',
                        lambda message, level=20: lines.append(message))
    return lines


def _train_and_die_in_save(config, work_dir, plugin_dir, victim):
    """Child process: train; when the temporary file of ``victim`` is being
    flushed, keep only half of it and SIGKILL this process."""
    real_fsync = os.fsync

    def dying_fsync(fd):
        if os.readlink(f'/proc/self/fd/{fd}').endswith(f'{victim}{TEMP_MARKER}{os.getpid()}'):
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
            os.kill(os.getpid(), signal.SIGKILL)
        real_fsync(fd)

    os.fsync = dying_fsync
    call_main('train', [config, '--work-dir', work_dir], plugin_dir)


def test_killed_during_save_resumes_from_the_last_intact_checkpoint(
        toy_training, trained_work_dir, tmp_path, said):
    config, plugin_dir = toy_training
    work_dir = tmp_path / 'killed'
    child = multiprocessing.get_context('fork').Process(
        target=_train_and_die_in_save, args=(config, work_dir, plugin_dir, 'iter_4.pth'))
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    # The half-written checkpoint is only a temporary file; the pointer and
    # the previous checkpoint are intact.
    temps = left_over_temporaries(str(work_dir))
    assert [os.path.basename(t) for t in temps] == [
        f'.iter_4.pth{TEMP_MARKER}{child.pid}']
    assert os.path.getsize(temps[0]) > 0
    assert not (work_dir / 'iter_4.pth').exists()
    assert (work_dir / 'last_checkpoint').read_text().endswith('iter_2.pth')

    call_main('train', [config, '--work-dir', work_dir, '--resume'], plugin_dir)
    assert said == [
        f'--resume: removing {temps[0]}, the temporary file of a save that was '
        'interrupted (the checkpoint it was writing was never completed).',
        f'--resume: resuming from {work_dir / "iter_2.pth"}.']
    assert left_over_temporaries(str(work_dir)) == []
    assert_same_run(trained_work_dir['work_dir'] / 'iter_4.pth', work_dir / 'iter_4.pth')


@pytest.mark.parametrize('damage', ['truncated', 'corrupt'])
def test_broken_latest_checkpoint_is_skipped(damage, toy_training, trained_work_dir,
                                             tmp_path, said):
    """A latest checkpoint broken by a non-atomic writer (a full disk, an old
    version) is skipped, and said, for the newest intact one."""
    config, plugin_dir = toy_training
    work_dir = tmp_path / 'work'
    shutil.copytree(trained_work_dir['work_dir'], work_dir)
    latest = work_dir / 'iter_4.pth'
    (work_dir / 'last_checkpoint').write_text(str(latest))
    data = bytearray(latest.read_bytes())
    if damage == 'truncated':
        data = data[:len(data) // 2]
    else:
        middle = len(data) * 3 // 5
        data[middle:middle + 16] = bytes(255 - b for b in data[middle:middle + 16])
    latest.write_bytes(bytes(data))

    call_main('train', [config, '--work-dir', work_dir, '--resume'], plugin_dir)
    assert len(said) == 2
    assert said[0].startswith(f'--resume: skipping {latest}: ')
    assert ('truncated or corrupt' if damage == 'truncated' else 'fails its CRC check'
            ) in said[0]
    assert said[1] == (f'--resume: resuming from {work_dir / "iter_2.pth"} (the newest '
                       'intact checkpoint; 1 skipped).')
    assert_same_run(trained_work_dir['work_dir'] / 'iter_4.pth', latest)


def test_resume_with_nothing_to_resume_says_so(toy_training, tmp_path, said):
    config, plugin_dir = toy_training
    work_dir = tmp_path / 'empty'
    work_dir.mkdir()
    call_main('train', [config, '--work-dir', work_dir, '--resume',
                        '--cfg-options', 'train_cfg.max_iters=2'], plugin_dir)
    assert said == [f'--resume: there is no checkpoint to resume in {work_dir}; '
                    'training starts from scratch.']
    assert load(work_dir / 'iter_2.pth')['meta']['iter'] == 2


def test_resume_from_a_named_checkpoint_that_is_missing_or_broken(toy_training,
                                                                 tmp_path):
    config, plugin_dir = toy_training
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match=f'--resume {missing}: no such checkpoint'):
        call_main('train', [config, '--work-dir', tmp_path / 'w', '--resume', missing],
                  plugin_dir)
    broken = tmp_path / 'broken.pth'
    broken.write_bytes(b'PK\x03\x04 not really')
    with pytest.raises(CorruptCheckpointError,
                       match=f'--resume {broken}: cannot resume from it: truncated'):
        call_main('train', [config, '--work-dir', tmp_path / 'w', '--resume', broken],
                  plugin_dir)
    assert not (tmp_path / 'w' / 'iter_2.pth').exists()


@pytest.mark.parametrize('option', ['--out-prefix', '--metrics-out', '--work-dir'])
def test_unwritable_outputs_fail_before_inference(option, tiny_cfg, grounder_checkpoint,
                                                  tmp_path, monkeypatch):
    """Checked before the model is even built (a regular file where a directory
    must be: unwritable even for root)."""
    config = grounder_config_file(tiny_cfg, tmp_path / 'grounder.py', tmp_path / 'work')
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    target = str(blocker / 'sub' / ('out' if option != '--work-dir' else ''))
    built = []
    monkeypatch.setattr('tools.test.build_runner', lambda cfg: built.append(cfg))
    with pytest.raises(PermissionError, match=f'{option} {target}: cannot write in '):
        call_main('test', [config, grounder_checkpoint, option, target])
    assert built == []


def test_mmengine_writes_go_through_a_temporary_file(tmp_path, monkeypatch):
    """Checkpoints, ``last_checkpoint`` and dumps (``mmengine.dump``) are
    written to a temporary file and renamed: a failing write leaves the old
    file whole and no temporary file."""
    assert LocalBackend.put is _put and LocalBackend.put_text is _put_text
    path = tmp_path / 'preds.stvg.json'
    mmengine.dump(dict(v=1), str(path))
    renamed = []
    real_replace = os.replace

    def failing_replace(src, dst):
        renamed.append((os.path.basename(src), os.path.basename(dst)))
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr('mmstvg.utils.atomic_io.os.replace', failing_replace)
    with pytest.raises(OSError, match='No space left'):
        mmengine.dump(dict(v=2), str(path))
    with pytest.raises(OSError, match='No space left'):
        LocalBackend().put(b'x' * 100, str(tmp_path / 'iter_9.pth'))
    assert renamed == [(f'.preds.stvg.json{TEMP_MARKER}{os.getpid()}', 'preds.stvg.json'),
                       (f'.iter_9.pth{TEMP_MARKER}{os.getpid()}', 'iter_9.pth')]
    monkeypatch.setattr('mmstvg.utils.atomic_io.os.replace', real_replace)
    assert mmengine.load(str(path)) == dict(v=1)
    assert sorted(os.listdir(tmp_path)) == ['preds.stvg.json']
