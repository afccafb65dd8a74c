"""A progress bar over the val/test dataloader (MMEngine's loops show none)."""
import sys
from typing import Optional, Sequence, TextIO

from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook, LoggerHook
from mmengine.utils import ProgressBar

from mmstvg.registry import HOOKS


@HOOKS.register_module()
class EvalProgressBarHook(Hook):
    """Show an ``mmengine.utils.ProgressBar`` while validating and testing.

    MMEngine's ``ValLoop`` / ``TestLoop`` log a line every ``LoggerHook``
    interval and nothing in between; on a slow model (a 7B LLM generating
    answers) a user sees no sign of life for minutes. This hook draws a bar
    over the batches of the val/test dataloader on the main process (the
    counts are this process's batches; ranks share the dataset evenly).

    On a terminal the bar redraws in place after every batch. When the
    output is a file (``tools/test.py > log``), it writes a line only when
    another ``1 / non_tty_lines`` of the batches is done, so logs stay short.
    Either way it ends its line before ``LoggerHook`` prints one, so the two
    never share a line.

    Args:
        phases: the loops to show a bar for, among ``'val'`` and ``'test'``.
        non_tty_lines: lines written over a whole run when the output is not
            a terminal. Defaults to 10.
        file: the stream; None uses ``sys.stdout`` at the time of the run.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL): end our line first

    def __init__(self,
                 phases: Sequence[str] = ('val', 'test'),
                 non_tty_lines: int = 10,
                 file: Optional[TextIO] = None) -> None:
        unknown = set(phases) - {'val', 'test'}
        if unknown:
            raise ValueError(f'EvalProgressBarHook: phases must be among '
                             f"'val', 'test'; got {sorted(unknown)}")
        if non_tty_lines < 1:
            raise ValueError(f'non_tty_lines must be >= 1, got {non_tty_lines}')
        self.phases = tuple(phases)
        self.non_tty_lines = int(non_tty_lines)
        self.file = file
        self._bar: Optional[ProgressBar] = None
        self._pending = 0
        self._next_line_at = 0
        self._on_tty = False
        self._logger_interval: Optional[int] = None

    # ------------------------------------------------------------ internals
    def _stream(self) -> TextIO:
        return self.file if self.file is not None else sys.stdout

    def _start(self, runner, dataloader, phase: str) -> None:
        self._bar = None
        if phase not in self.phases or not is_main_process():
            return
        try:
            total = len(dataloader)
        except TypeError:  # an iterable dataloader without a length
            total = 0
        stream = self._stream()
        self._on_tty = bool(getattr(stream, 'isatty', lambda: False)())
        self._pending = 0
        self._next_line_at = self._line_step(total)
        self._logger_interval = next(
            (hook.interval for hook in getattr(runner, 'hooks', [])
             if isinstance(hook, LoggerHook)), None)
        world = get_world_size()
        label = f'{phase}: {total} batches' + (f' on each of {world} ranks'
                                                if world > 1 else '')
        stream.write(label + '\n')
        self._bar = ProgressBar(total, file=stream)
        if not self._on_tty:
            stream.write('\n')

    def _line_step(self, total: int) -> int:
        return max(1, -(-total // self.non_tty_lines)) if total else 1

    def _update(self, batch_idx: int) -> None:
        if self._bar is None:
            return
        self._pending += 1
        done = self._bar.completed + self._pending
        finished = self._bar.task_num > 0 and done >= self._bar.task_num
        logger_prints = bool(self._logger_interval) and (
            (batch_idx + 1) % self._logger_interval == 0)
        if self._on_tty or done >= self._next_line_at or finished:
            self._bar.update(self._pending)
            self._pending = 0
            while self._next_line_at <= done:
                self._next_line_at += self._line_step(self._bar.task_num)
            if not self._on_tty:
                self._stream().write('\n')
            elif logger_prints:
                self._stream().write('\n')
            self._stream().flush()

    def _finish(self) -> None:
        if self._bar is None:
            return
        if self._pending:
            self._bar.update(self._pending)
            self._pending = 0
            if not self._on_tty:
                self._stream().write('\n')
        if self._on_tty:
            self._stream().write('\n')
        self._stream().flush()
        self._bar = None

    # ---------------------------------------------------------------- hooks
    def before_val_epoch(self, runner) -> None:
        self._start(runner, runner.val_dataloader, 'val')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs=None) -> None:
        self._update(batch_idx)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def before_test_epoch(self, runner) -> None:
        self._start(runner, runner.test_dataloader, 'test')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs=None) -> None:
        self._update(batch_idx)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()
