"""What a converter kept and dropped, per reason; progress and output helpers."""
import json
import os
import os.path as osp
from collections import Counter
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

from ..validation import GroundingDataError

__all__ = ['ConversionReport', 'write_json', 'progress', 'probe_videos']


class ConversionReport:
    """Counts of kept and dropped entries, per reason, with examples.

    Args:
        name: the dataset and split, quoted in the summary.
    """

    def __init__(self, name: str):
        self.name = name
        self.kept = 0
        self.dropped: Counter = Counter()
        self.examples: Dict[str, str] = {}
        #: Counts of things changed but kept (e.g. spans clipped).
        self.notes: Counter = Counter()
        #: Lines of their own (e.g. DiDeMo's merged file names), in order.
        self.messages: List[str] = []

    def keep(self, count: int = 1) -> None:
        self.kept += count

    def drop(self, reason: str, example: Any, count: int = 1) -> None:
        """Count ``count`` dropped entries for ``reason`` (``example`` names
        one of them)."""
        self.dropped[reason] += count
        self.examples.setdefault(reason, str(example))

    def note(self, what: str, count: int = 1) -> None:
        self.notes[what] += count

    def say(self, line: str) -> None:
        """Add a line of its own to the summary (after the counts)."""
        self.messages.append(line)

    @property
    def num_dropped(self) -> int:
        return sum(self.dropped.values())

    def summary(self) -> str:
        """A few lines: kept, dropped per reason (with an example), notes."""
        lines = [f'{self.name}: kept {self.kept}, dropped {self.num_dropped}']
        for reason, count in self.dropped.most_common():
            lines.append(f'  dropped {count}: {reason} '
                         f'(e.g. {self.examples[reason]})')
        for what, count in self.notes.most_common():
            lines.append(f'  {what}: {count}')
        lines.extend(f'  {line}' for line in self.messages)
        return '\n'.join(lines)

    def check_kept(self, source: str, field: str = '<all entries>') -> None:
        """Refuse a conversion that kept nothing, before its output is written.

        A converter whose every entry was dropped (every line malformed, every
        video missing under a wrong ``--video-dir``) would otherwise write an
        empty annotation file and exit 0.

        Args:
            source: the input file(s), named in the error.
            field: the field named in the error.

        Raises:
            GroundingDataError: naming ``source`` and ``field``, with the
                counts per reason and an example of each (:meth:`summary`).
        """
        if self.kept == 0:
            raise GroundingDataError(
                'no entry was kept, nothing is written (a wrong input file or '
                f'folder?):\n{self.summary()}', ann_file=source, field=field)

    def to_dict(self) -> dict:
        return dict(name=self.name, kept=self.kept,
                    dropped=dict(self.dropped), examples=self.examples,
                    notes=dict(self.notes), messages=list(self.messages))


def write_json(obj: Any, path: str) -> str:
    """Write ``obj`` as json (UTF-8) through a temporary file + rename."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(obj, f, ensure_ascii=False)
    os.replace(tmp, path)
    return path


def progress(items: Sequence, show: bool = True) -> Iterator:
    """Iterate ``items`` with mmengine's progress bar (to stderr-like
    stdout; off with ``show=False``)."""
    if not show or not len(items):
        yield from items
        return
    from mmengine.utils import ProgressBar
    bar = ProgressBar(len(items))
    for item in items:
        yield item
        bar.update()
    print()


def probe_videos(paths: Dict[str, str], report: ConversionReport,
                 show_progress: bool = True) -> Dict[str, dict]:
    """``{key: probe_video_meta(path)}`` for the videos that open; the others
    are counted in ``report`` (reason ``'video missing'`` /
    ``'video unreadable'``) and left out."""
    from ..charades_sta import probe_video_meta
    metas = {}
    for key in progress(sorted(paths), show_progress):
        path = paths[key]
        if not osp.isfile(path):
            report.drop('video missing', path)
            continue
        try:
            metas[key] = probe_video_meta(path)
        except Exception as error:  # decord raises its own types
            report.drop('video unreadable', f'{path} ({type(error).__name__})')
    return metas


def iter_json_files(folder: str) -> List[str]:
    """Every ``*.json`` under ``folder``, sorted."""
    found = []
    for root, _, files in os.walk(folder):
        found.extend(osp.join(root, f) for f in files if f.endswith('.json'))
    return sorted(found)


def first(items: Iterable, default: Optional[Any] = None) -> Any:
    for item in items:
        return item
    return default
