"""The one-place filter of uninformative third-party messages."""
import logging
import os
import subprocess
import sys
import warnings

import pytest

from mmstvg.utils.log_filters import (MessageFilter, UninformativeMessage,
                                      filter_uninformative_messages)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(code: str, **env) -> str:
    full_env = dict(os.environ, PYTHONPATH=REPO, **env)
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env=full_env, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout + proc.stderr


def test_runtime_patches_hide_deepspeed_accelerator_warning_only_through_the_filter():
    pytest.importorskip('deepspeed')
    code = ('from mmstvg.utils import apply_runtime_patches; apply_runtime_patches(); '
            'import deepspeed, logging; '
            "logging.getLogger('DeepSpeed').warning('Setting accelerator to CPU. If you '"
            "'have GPU (again)'); logging.getLogger('DeepSpeed').warning('a real problem')")
    quiet = _run(code)
    assert 'Setting accelerator to CPU' not in quiet
    assert 'a real problem' in quiet  # other DeepSpeed messages still show


def test_importing_mmstvg_installs_no_filter():
    code = ("import logging, mmstvg, mmstvg.utils; "
            "print(len(logging.getLogger('DeepSpeed').filters))")
    assert _run(code).strip().splitlines()[-1] == '0'


def test_deepspeed_logger_filter_drops_the_accelerator_message():
    filters = filter_uninformative_messages()
    record = logging.LogRecord('DeepSpeed', logging.WARNING, __file__, 1,
                               'Setting accelerator to CPU. If you have GPU or other '
                               'accelerator, we were unable to detect it.', None, None)
    assert logging.getLogger('DeepSpeed').filter(record) is False
    assert filters['DeepSpeed'].num_dropped >= 1
    other = logging.LogRecord('DeepSpeed', logging.WARNING, __file__, 1, 'ZeRO stage 3',
                              None, None)
    assert logging.getLogger('DeepSpeed').filter(other)


def test_show_all_env_installs_nothing(monkeypatch):
    monkeypatch.setenv('MMSTVG_SHOW_ALL_WARNINGS', '1')
    assert filter_uninformative_messages() == {}


def test_message_filter_counts_and_drops_matching_records_only():
    name = 'mmstvg_test_logger_filters'
    filters = filter_uninformative_messages(
        [UninformativeMessage('test', r'noise \d+', logger=name)])
    logger = logging.getLogger(name)
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger.addHandler(Keep())
    logger.warning('noise 12 at start')
    logger.warning('a message with noise 12 inside')
    logger.warning('signal')
    assert records == ['a message with noise 12 inside', 'signal']
    assert filters[name].num_dropped == 1
    # idempotent: installing again adds no second filter
    filter_uninformative_messages([UninformativeMessage('test', r'noise \d+', logger=name)])
    assert sum(isinstance(f, MessageFilter) for f in logger.filters) == 1


def test_a_python_warning_entry_is_dropped_other_warnings_kept():
    entry = UninformativeMessage('test', r'mmstvg test noise', category=FutureWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('default')
        filter_uninformative_messages([entry])
        warnings.warn('mmstvg test noise, dropped', FutureWarning)
        warnings.warn('mmstvg test noise of another category', UserWarning)
        warnings.warn('something else is deprecated', FutureWarning)
    assert [str(w.message) for w in caught] == [
        'mmstvg test noise of another category', 'something else is deprecated']
