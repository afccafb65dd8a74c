"""EvalProgressBarHook: a bar over the val/test batches that never shares a log line."""
import io
from types import SimpleNamespace

import pytest
from mmengine.hooks import LoggerHook

from mmstvg.engine.hooks import EvalProgressBarHook


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def _run(hook, num_batches, phase='test', logger_interval=None):
    hooks = [LoggerHook(interval=logger_interval)] if logger_interval else []
    runner = SimpleNamespace(hooks=hooks, val_dataloader=list(range(num_batches)),
                             test_dataloader=list(range(num_batches)))
    getattr(hook, f'before_{phase}_epoch')(runner)
    for idx in range(num_batches):
        getattr(hook, f'after_{phase}_iter')(runner, idx)
        if logger_interval and (idx + 1) % logger_interval == 0:
            hook._stream().write(f'LOG {idx + 1}\n')  # what LoggerHook would print
    getattr(hook, f'after_{phase}_epoch')(runner)


def test_file_output_writes_a_few_whole_lines():
    stream = io.StringIO()
    _run(EvalProgressBarHook(non_tty_lines=4, file=stream), 10)
    lines = [line for line in stream.getvalue().split('\n') if line]
    assert lines[0] == 'test: 10 batches'
    counts = [line.split('] ')[1].split(',')[0] for line in lines[2:]]
    # ceil(10 / 4) = 3 batches a line, and the last batch
    assert counts == ['3/10', '6/10', '9/10', '10/10']


def test_terminal_output_redraws_and_ends_its_line_before_logger_lines():
    stream = FakeTTY()
    _run(EvalProgressBarHook(file=stream), 7, phase='val', logger_interval=3)
    text = stream.getvalue()
    assert text.count('\r[') == 7  # one redraw a batch
    for n in (3, 6):
        before = text.split(f'LOG {n}')[0]
        assert before.endswith('\n') and f'{n}/7' in before.split('\n')[-2]
    assert text.endswith('\n') and '7/7' in text


def test_phase_not_listed_shows_nothing_and_bad_args_raise():
    stream = io.StringIO()
    _run(EvalProgressBarHook(phases=('test', ), file=stream), 5, phase='val')
    assert stream.getvalue() == ''
    with pytest.raises(ValueError, match='phases'):
        EvalProgressBarHook(phases=('train', ))
    with pytest.raises(ValueError, match='non_tty_lines'):
        EvalProgressBarHook(non_tty_lines=0)
