"""Charades-STA (temporal grounding) from its ``VID start end##sentence`` files."""
import math
import os.path as osp
from typing import Dict, List, Optional, Tuple

from mmstvg.registry import DATASETS
from mmstvg.structures import seconds_to_frames
from .base_grounding_dataset import BaseGroundingDataset
from .validation import (GroundingDataError, Target, VideoMeta, as_float,
                         as_int, build_data_info, check_fps, load_json,
                         read_text)

__all__ = ['CharadesSTADataset', 'probe_video_meta']


def probe_video_meta(video_path: str, num_threads: int = 1) -> dict:
    """Read ``num_frames``, ``fps``, ``duration``, ``height``, ``width`` of a
    video with decord (opens it once; decodes one frame for the size)."""
    import decord
    reader = decord.VideoReader(video_path, num_threads=num_threads)
    num_frames = len(reader)
    fps = float(reader.get_avg_fps())
    height, width = reader[0].shape[:2]
    return dict(num_frames=num_frames, fps=fps, duration=num_frames / fps,
                height=int(height), width=int(width))


@DATASETS.register_module()
class CharadesSTADataset(BaseGroundingDataset):
    """Charades-STA: a sentence and the span in seconds when it happens.

    **Source files**: ``charades_sta_train.txt`` / ``charades_sta_test.txt``,
    one sample per line ``"<VID> <start s> <end s>##<sentence>"`` (e.g.
    ``"3MSZA 24.3 30.4##person turn a light on."``); videos
    ``<data_prefix['video']>/<VID><video_ext>``; and optionally ``meta_file``,
    a json ``{VID: {"num_frames", "fps", "height", "width"[, "duration"]
    [, "length"]}}`` (``tools/dataset_converters/charades_sta.py`` writes it
    from ``Charades_v1_{train,test}.csv`` - ``length`` is the csv's official
    length in seconds - and, given the videos, their probed frame counts,
    fps and sizes). Keys a meta entry lacks are taken from
    ``known_video_meta``, else probed from the video with decord at load
    time (all of them without a meta file).

    **Keys read**: the three fields of each line; from the meta file the keys
    above.

    **Convention converted from**: spans are in seconds. The end is clipped to
    ``clip_end_to``: the csv ``length`` (2D-TAN's protocol; 562 of the 3,720
    test lines end past it) or the decoded video's duration; a line with
    ``start >= end`` (after clipping) is dropped and counted
    (:attr:`num_dropped`). ``gt_span_seconds`` keeps the
    seconds of the file, ``gt_span_frames`` rounds them to the nearest frame
    boundary (:func:`mmstvg.structures.seconds_to_frames`), widened to one
    frame if rounding made it empty. No boxes (task ``'tvg'``).

    ``sample_id = '<VID>#<line index>'``. Each sample also carries
    ``clip_end_seconds``: the end its span was clipped to (the csv length
    under 2D-TAN's protocol), i.e. the video's length as the annotation
    states it (``tools/analysis_tools/trivial_baseline.py`` answers
    ``[0, clip_end_seconds]`` without opening the video).

    The spans are wall-clock seconds (``time_axis='seconds'``): the pipeline
    times the frames of a variable-frame-rate video by their presentation
    times (:mod:`mmstvg.datasets.transforms.frame_times`).

    Args:
        meta_file: the optional metadata json (relative to ``data_root``).
        video_ext: extension of the video files.
        clip_end_to: ``'auto'`` (the meta's ``length`` where it has one, else
            the video's duration), ``'length'`` (the csv length; an entry
            without one is bad input), ``'video'`` (the video's duration) or
            ``'none'`` (only to the video's duration in frames).
        **kwargs: see :class:`BaseGroundingDataset`.
    """

    DEFAULT_NAME = 'charades_sta'
    TASK = 'tvg'
    TIME_AXIS = 'seconds'

    CLIP_END_TO = ('auto', 'length', 'video', 'none')

    def __init__(self, meta_file: Optional[str] = None, video_ext: str = '.mp4',
                 clip_end_to: str = 'auto', **kwargs):
        if clip_end_to not in self.CLIP_END_TO:
            raise ValueError(f'clip_end_to must be one of {self.CLIP_END_TO}, '
                             f'got {clip_end_to!r}')
        self.clip_end_to = clip_end_to
        self.meta_file = meta_file
        self.video_ext = video_ext
        self.num_dropped = 0
        super().__init__(**kwargs)

    def _load_meta(self) -> Dict[str, dict]:
        meta_file = self.meta_file
        if meta_file and self.data_root and not osp.isabs(meta_file) \
                and not osp.isfile(meta_file):
            meta_file = osp.join(self.data_root, meta_file)
        if not meta_file:
            return {}
        if not osp.isfile(meta_file):
            raise FileNotFoundError(
                f'CharadesSTADataset: meta_file {meta_file} does not exist '
                '(write it with tools/dataset_converters/charades_sta.py, see '
                'docs/en/dataset_prepare.md)')
        meta = load_json(meta_file)
        if not isinstance(meta, dict):
            raise GroundingDataError(
                f'must be a dict {{VID: {{...}}}}, got {type(meta).__name__}',
                ann_file=meta_file, field='<top level>')
        return meta

    def load_raw_annotations(self) -> List[Tuple[int, str, dict]]:
        meta = self._load_meta()
        self.num_dropped = 0
        lines = [line.strip() for line in read_text(self.ann_file).splitlines()]
        return [(i, line, meta) for i, line in enumerate(lines) if line]

    def parse_data_info(self, raw: Tuple[int, str, dict]) -> Optional[list]:
        line_index, line, meta = raw
        head, sep, sentence = line.partition('##')
        parts = head.split()
        vid = parts[0] if parts else f'<line {line_index + 1}>'
        if not sep or len(parts) != 3:
            raise self.bad(f'line {line_index + 1} is not "VID start end##'
                           f'sentence": {line!r}', vid, 'line')
        try:
            start_s, end_s = float(parts[1]), float(parts[2])
        except ValueError:
            raise self.bad(f'line {line_index + 1}: start/end are not numbers: '
                           f'{line!r}', vid, 'start/end') from None
        if not (math.isfinite(start_s) and math.isfinite(end_s)):
            raise self.bad(f'line {line_index + 1}: start/end are not finite: '
                           f'{line!r}', vid, 'start/end')
        video_path = self.resolve_video_path(vid + self.video_ext, vid)
        info = meta.get(vid)
        if info is None and meta:
            raise self.bad(f'no entry in the meta file {self.meta_file}',
                           vid, 'meta_file')
        if info is not None and not isinstance(info, dict):
            raise self.bad('the meta entry must be a dict', vid, 'meta_file')
        info = self.with_known_meta(vid, dict(info or {}))
        if any(key not in info for key in ('num_frames', 'fps', 'height',
                                             'width')):
            try:
                probed = probe_video_meta(video_path)
            except Exception as error:  # decord raises its own types
                raise self.bad(f'cannot read video {video_path} ({error})',
                               vid, 'video') from None
            info = {**probed, **info}
        where = self.where(vid)
        num_frames = as_int(info['num_frames'], 'num_frames', where, minimum=1)
        fps = check_fps(info['fps'], 'fps', where)
        duration = num_frames / fps
        if 'duration' in info:
            duration = as_float(info['duration'], 'duration', where,
                                positive=True)
        length = None
        if 'length' in info and info['length'] is not None:
            length = as_float(info['length'], 'length', where, positive=True)
        if self.clip_end_to == 'length' and length is None:
            raise self.bad("clip_end_to='length' but the meta entry has no "
                           'csv length', vid, 'length')
        end_limit = {
            'auto': length if length is not None else duration,
            'length': length, 'video': duration, 'none': float('inf')
        }[self.clip_end_to]
        start_s, end_s = max(0.0, start_s), min(end_s, end_limit)
        if start_s >= end_s:
            self.num_dropped += 1
            return []
        start, end = seconds_to_frames((start_s, end_s), fps, num_frames)
        if end <= start:
            start, end = min(start, num_frames - 1), min(start, num_frames - 1) + 1
        return build_data_info(
            self.info_checks,
            sample_id=f'{vid}#{line_index}',
            video_id=vid,
            video_path=video_path,
            sentence=sentence.strip(),
            video=VideoMeta(num_frames, fps, info['height'], info['width']),
            target=Target((start, end), span_seconds=(start_s, end_s),
                          span_field='start/end'),
            clip_end_seconds=float(end_limit if math.isfinite(end_limit)
                                   else duration))

    def drop_summary(self) -> str:
        """The lines dropped as empty after clipping (``start >= end``)."""
        if not self.num_dropped:
            return ''
        return (f': {self.num_dropped} lines have start >= end after clipping '
                f'the end (field \'start/end\', clip_end_to='
                f'{self.clip_end_to!r})')

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        if self.num_dropped:
            from mmengine.logging import MMLogger
            MMLogger.get_current_instance().warning(
                f'CharadesSTADataset ({self.ann_file}): dropped '
                f'{self.num_dropped} lines with start >= end after clipping '
                f'the end (clip_end_to={self.clip_end_to!r})')
        return data_list
