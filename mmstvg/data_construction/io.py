"""Inputs and per-video results of the STVG construction.

- :func:`load_caption_list` reads the videos and captions to build from (a
  json list / jsonl file, or an HC-STVG raw file whose captions are reused).
- :class:`ResultStore` keeps one small json per video and stage under the
  work directory, each written atomically (a temporary file, then
  ``os.replace``), so a killed run leaves only whole files and a rerun skips
  what is done.
"""
import json
import os
import os.path as osp
import tempfile
from dataclasses import dataclass
from typing import List, Optional, Tuple
from urllib.parse import quote

__all__ = ['VideoCaption', 'load_caption_list', 'atomic_write_json', 'ResultStore']


@dataclass
class VideoCaption:
    """One input of the construction.

    Attributes:
        key: the video's path relative to the video root (the key of the
            HC-STVG entry written for it).
        video_path: the file to read.
        caption: the clip's caption.
        span_seconds: an optional coarse ``(start, end)`` in seconds inside
            which the object is searched.
    """

    key: str
    video_path: str
    caption: str
    span_seconds: Optional[Tuple[float, float]] = None


def _bad(ann_file: str, where: str, field: str, message: str) -> ValueError:
    return ValueError(f'{ann_file}: {where}: field {field!r}: {message}')


def load_caption_list(ann_file: str, video_root: str = '', format: str = 'auto',
                      caption_key: Optional[str] = None) -> List[VideoCaption]:
    """Read the list of videos with captions.

    Formats:

    - ``'list'``: a json list, or a ``.jsonl`` file of one object a line,
      each ``{"video": "dir/a.mp4", "caption": "...", "span": [s, e]}``
      (``span`` in seconds, optional);
    - ``'hcstvg'``: an HC-STVG raw file (dict keyed by video file); its
      ``caption`` (v1) or ``English`` (v2) is used, its boxes are not.

    ``'auto'`` picks ``'hcstvg'`` for a json dict and ``'list'`` otherwise.

    Args:
        ann_file: the file.
        video_root: the folder video paths are relative to.
        format: ``'auto'``, ``'list'`` or ``'hcstvg'``.
        caption_key: the caption field (default ``caption``, or ``English``
            for an HC-STVG v2 entry without ``caption``).

    Returns:
        The inputs in file order.

    Raises:
        ValueError: a missing or bad field (the message names the file, the
            entry and the field), or a video listed twice.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'caption list {ann_file}: no such file')
    with open(ann_file) as f:
        if ann_file.endswith('.jsonl'):
            data = [json.loads(line) for line in f if line.strip()]
        else:
            data = json.load(f)
    if format == 'auto':
        format = 'hcstvg' if isinstance(data, dict) else 'list'
    if format == 'hcstvg':
        if not isinstance(data, dict):
            raise ValueError(f'{ann_file}: an HC-STVG file is a dict keyed by video file')
        records = [(f'entry {key!r}', dict(entry, video=key)) for key, entry in data.items()]
        use_span = False
    elif format == 'list':
        if not isinstance(data, list):
            raise ValueError(f'{ann_file}: a caption list is a json list of objects')
        records = [(f'entry {i}', entry) for i, entry in enumerate(data)]
        use_span = True
    else:
        raise ValueError(f"format must be 'auto', 'list' or 'hcstvg', got {format!r}")
    items: List[VideoCaption] = []
    seen = {}
    for where, entry in records:
        if not isinstance(entry, dict):
            raise _bad(ann_file, where, '-', f'expected an object, got {type(entry).__name__}')
        video = entry.get('video')
        if not isinstance(video, str) or not video:
            raise _bad(ann_file, where, 'video', 'missing or not a string')
        key = caption_key or ('caption' if 'caption' in entry or format == 'list'
                              else 'English')
        caption = entry.get(key)
        if not isinstance(caption, str) or not caption.strip():
            raise _bad(ann_file, where, key, 'missing or empty caption')
        span = entry.get('span') if use_span else None
        if span is not None:
            if (not isinstance(span, (list, tuple)) or len(span) != 2
                    or not all(isinstance(v, (int, float)) for v in span)
                    or not 0 <= span[0] < span[1]):
                raise _bad(ann_file, where, 'span',
                           f'expected [start, end] seconds with 0 <= start < end, got {span}')
            span = (float(span[0]), float(span[1]))
        video = osp.normpath(video)
        if video in seen:
            raise _bad(ann_file, where, 'video',
                       f'{video} is also {seen[video]}; one sample per video (the '
                       'HC-STVG format is keyed by video file)')
        seen[video] = where
        items.append(VideoCaption(key=video, video_path=osp.join(video_root, video),
                                  caption=' '.join(caption.split()), span_seconds=span))
    return items


def atomic_write_json(path: str, obj) -> None:
    """Write ``obj`` as json so that ``path`` is either absent or complete."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.', suffix='.tmp',
                                   dir=folder)
    try:
        with os.fdopen(handle, 'w') as f:
            json.dump(obj, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class ResultStore:
    """One json per (stage, video) under ``root/<stage>/``.

    File names are the video keys percent-encoded (``dir/a.mp4`` ->
    ``dir%2Fa.mp4.json``), so every key has its own file.

    Args:
        root: the work directory.
    """

    def __init__(self, root: str):
        self.root = root

    def path(self, stage: str, key: str) -> str:
        return osp.join(self.root, stage, quote(key, safe='') + '.json')

    def load(self, stage: str, key: str) -> Optional[dict]:
        """The stored result, or ``None`` when there is none yet."""
        path = self.path(stage, key)
        if not osp.isfile(path):
            return None
        with open(path) as f:
            return json.load(f)

    def save(self, stage: str, key: str, record: dict) -> None:
        atomic_write_json(self.path(stage, key), record)
