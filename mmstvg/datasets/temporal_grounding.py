"""DiDeMo and TACoS (temporal grounding) in mmstvg's converted TVG json."""
from collections import Counter
from typing import Any, Dict, List, Tuple

import numpy as np

from mmstvg.registry import DATASETS
from mmstvg.structures import seconds_to_frames
from .base_grounding_dataset import BaseGroundingDataset
from .charades_sta import probe_video_meta
from .validation import (Target, VideoMeta, as_float, as_int, build_data_info,
                         check_fps)

__all__ = ['TemporalGroundingDataset', 'DiDeMoDataset', 'TACoSDataset',
           'primary_span']

#: Keys of a video entry that :func:`probe_video_meta` fills when missing.
VIDEO_KEYS = ('num_frames', 'fps', 'height', 'width')


def primary_span(spans: np.ndarray) -> np.ndarray:
    """The span most annotators chose (ties: the first listed).

    DiDeMo gives each sentence the moments of (usually) four annotators; the
    training target and ``gt_span_seconds`` is the one given most often.
    Ours, not DiDeMo's: DiDeMo's evaluator scores against all of them (see
    :class:`mmstvg.evaluation.DiDeMoMetric`).
    """
    counts = Counter(tuple(row) for row in spans.tolist())
    best = max(counts.values())
    for row in spans.tolist():
        if counts[tuple(row)] == best:
            return np.asarray(row, dtype=np.float64)
    raise ValueError('no spans')  # pragma: no cover - spans is non-empty


@DATASETS.register_module()
class TemporalGroundingDataset(BaseGroundingDataset):
    """A temporal grounding set in mmstvg's TVG json (task ``'tvg'``).

    **Source files**: the json written by ``tools/dataset_converters/
    didemo.py`` or ``tacos.py`` from the public annotations::

        {"dataset": "tacos",
         "videos": {"s13-d21": {"video": "s13-d21.avi", "num_frames": 5000,
                                "fps": 29.4, "height": 1224, "width": 1624}},
         "annotations": [{"id": "s13-d21#0", "video_id": "s13-d21",
                          "sentence": "...",
                          "spans_seconds": [[2.0, 9.5], ...]}]}

    and the videos under ``data_prefix['video']`` at each video's ``video``.
    A video entry without ``num_frames`` / ``fps`` / ``height`` / ``width``
    (the converter was run without ``--video-dir``) takes them from
    ``known_video_meta``, else probes the video with decord at load time.

    **Convention**: spans are in seconds, half-open in frames once converted
    (:func:`mmstvg.structures.seconds_to_frames`, clipped to the video).
    ``gt_span_seconds`` is the span most annotators chose
    (:func:`primary_span`; TACoS has one); ``gt_spans_seconds_all`` (float
    ``(K, 2)``) keeps every annotator's span for the metric.
    ``sample_id`` is the annotation's ``id``.
    """

    DEFAULT_NAME = 'tvg'
    TASK = 'tvg'
    SAMPLE_ID_FIELD = 'id'

    def load_raw_annotations(self) -> List[Tuple[dict, Dict[str, Any]]]:
        content = self.load_json()
        for key in ('videos', 'annotations'):
            if not isinstance(content, dict) or key not in content:
                raise self.bad(
                    'missing top-level key (convert the public files with '
                    'tools/dataset_converters/didemo.py or tacos.py)',
                    '<all>', key)
        videos, annotations = content['videos'], content['annotations']
        if not isinstance(videos, dict) or not isinstance(annotations, list):
            raise self.bad('"videos" must be a dict and "annotations" a list',
                           '<all>', 'videos/annotations')
        self._probed: Dict[str, dict] = {}
        return [(entry, videos) for entry in annotations]

    def video_info(self, vid: str, videos: Dict[str, Any]) -> Tuple[str, dict]:
        """The video's path and its ``num_frames``, ``fps``, ``height``,
        ``width`` (from ``known_video_meta``, else probed once, where the
        json lacks them)."""
        entry = videos.get(vid)
        if not isinstance(entry, dict):
            raise self.bad('no entry in "videos"', vid, 'videos')
        path = self.resolve_video_path(self.str_field(entry, 'video', vid),
                                       vid)
        info = self.with_known_meta(
            vid, {key: entry[key] for key in VIDEO_KEYS if key in entry})
        if len(info) < len(VIDEO_KEYS):
            if vid not in self._probed:
                try:
                    self._probed[vid] = probe_video_meta(path)
                except Exception as error:  # decord raises its own types
                    raise self.bad(f'cannot read video {path} ({error})', vid,
                                   'video') from None
            info = {**self._probed[vid], **info}
        return path, info

    def parse_data_info(self, raw: Tuple[dict, Dict[str, Any]]) -> dict:
        entry, videos = raw
        vid = self.str_field(entry, 'video_id',
                             entry.get('id', '?') if isinstance(entry, dict)
                             else '?')
        sample_id = str(self.require(entry, 'id', vid))
        video_path, info = self.video_info(vid, videos)
        where = self.where(vid)
        num_frames = as_int(info['num_frames'], 'num_frames', where, minimum=1)
        fps = check_fps(info['fps'], 'fps', where)
        spans = self._spans(entry, vid)
        span_s = primary_span(spans)
        start, end = seconds_to_frames(tuple(span_s), fps, num_frames)
        if end <= start:
            raise self.bad(
                f'span {span_s.tolist()} s is empty or outside the video of '
                f'{num_frames / fps:.2f} s', vid, 'spans_seconds')
        return build_data_info(
            self.info_checks,
            sample_id=sample_id,
            video_id=vid,
            video_path=video_path,
            sentence=self.require(entry, 'sentence', vid),
            video=VideoMeta(num_frames, fps, info['height'], info['width']),
            target=Target((start, end), span_seconds=tuple(span_s),
                          span_field='spans_seconds'),
            gt_spans_seconds_all=spans.astype(np.float32))

    def _spans(self, entry: dict, vid: str) -> np.ndarray:
        value = self.require(entry, 'spans_seconds', vid)
        where = self.where(vid)
        if not isinstance(value, list) or not value:
            raise self.bad(f'must be a non-empty list of [start, end] '
                           f'seconds, got {value!r:.60}', vid, 'spans_seconds')
        rows = []
        for row in value:
            if not isinstance(row, (list, tuple)) or len(row) != 2:
                raise self.bad(f'must be [start, end] seconds, got {row!r:.60}',
                               vid, 'spans_seconds')
            start = as_float(row[0], 'spans_seconds', where)
            end = as_float(row[1], 'spans_seconds', where)
            if not 0 <= start < end:
                raise self.bad(f'span [{start}, {end}] s is empty or negative',
                               vid, 'spans_seconds')
            rows.append((start, end))
        return np.asarray(rows, dtype=np.float64)


@DATASETS.register_module()
class DiDeMoDataset(TemporalGroundingDataset):
    """DiDeMo (Hendricks et al., 2017): moments of 5-second segments, one per
    annotator (usually four), converted by
    ``tools/dataset_converters/didemo.py``; scored by
    :class:`mmstvg.evaluation.DiDeMoMetric`. See
    :class:`TemporalGroundingDataset` for the format. Its moments are
    wall-clock seconds (``time_axis='seconds'``)."""

    DEFAULT_NAME = 'didemo'
    #: Moments of 5-second segments: wall-clock seconds.
    TIME_AXIS = 'seconds'


@DATASETS.register_module()
class TACoSDataset(TemporalGroundingDataset):
    """TACoS (Regneri et al., 2013; 2D-TAN's splits): one span per sentence,
    converted by ``tools/dataset_converters/tacos.py``. See
    :class:`TemporalGroundingDataset` for the format."""

    DEFAULT_NAME = 'tacos'
