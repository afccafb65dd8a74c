"""VidSTG in the widely used converted form (TubeDETR's ``preproc_vidstg.py``)."""
from typing import List, Tuple

import numpy as np

from mmstvg.registry import DATASETS
from mmstvg.structures import xywh_to_xyxy
from .base_grounding_dataset import BaseGroundingDataset
from .validation import Target, VideoMeta, build_data_info, check_fps

__all__ = ['VidSTGDataset']


@DATASETS.register_module()
class VidSTGDataset(BaseGroundingDataset):
    """VidSTG (declarative and interrogative sentences on VidOR videos).

    **Source files**: the converted ``train.json`` / ``val.json`` /
    ``test.json`` made by TubeDETR's preprocessing from VidSTG's sentence
    annotations and VidOR's trajectories:
    ``{"videos": [...], "trajectories": {...}}`` with one entry of
    ``videos`` per sentence; videos under ``data_prefix['video']`` at each
    entry's ``video_path`` (e.g. ``'0000/2401075277.mp4'``).

    **Keys read** per sentence entry: ``original_video_id``, ``video_id``
    (the sentence's index), ``video_path``, ``frame_count``, ``fps``,
    ``width``, ``height``, ``start_frame`` / ``end_frame`` (the used segment
    of the video), ``tube_start_frame`` / ``tube_end_frame`` (the ground-truth
    moment), ``caption``, ``target_id``, ``qtype``. Boxes:
    ``trajectories[original_video_id][str(target_id)][str(frame)]['bbox']``,
    ``[x, y, w, h]`` in pixels.

    **Frame-index convention converted from**: VidOR frame indices are
    0-based; ``start_frame``/``tube_start_frame`` are included and
    ``end_frame``/``tube_end_frame`` excluded (TubeDETR samples
    ``range(start_frame, end_frame)`` and takes frames with
    ``tube_start_frame <= f < tube_end_frame``), so the span is kept as is:
    ``gt_span_frames = [tube_start_frame, tube_end_frame)`` and
    ``clip_span_frames = [start_frame, end_frame)``. Every frame of the span
    must carry a box in the trajectory (else: bad input on ``trajectories``).

    ``sample_id = '<original_video_id>#<video_id>'``; ``qtype`` is kept for the
    metric, which reports the two sentence types separately.
    """

    DEFAULT_NAME = 'vidstg'
    TASK = 'stvg'
    SAMPLE_ID_FIELD = 'original_video_id/video_id'

    def load_raw_annotations(self) -> List[Tuple[dict, dict]]:
        annotations = self.load_json()
        if not isinstance(annotations, dict):
            raise self.bad('must be {"videos": [...], "trajectories": {...}}, '
                           f'got a {type(annotations).__name__} (a raw VidSTG '
                           'file? convert it with tools/dataset_converters/'
                           'vidstg.py)', '<all>', '<top level>')
        for key in ('videos', 'trajectories'):
            if key not in annotations:
                hint = (' (this looks like a raw VidSTG file: convert it with '
                        'tools/dataset_converters/vidstg.py)'
                        if 'subject/objects' in str(annotations)[:20000] or
                        key == 'videos' else '')
                raise self.bad('missing top-level key' + hint, '<all>', key)
        trajectories = annotations['trajectories']
        return [(video, trajectories) for video in annotations['videos']]

    def parse_data_info(self, raw: Tuple[dict, dict]) -> dict:
        entry, trajectories = raw
        vid = self.require(entry, 'original_video_id',
                           entry.get('video_id', '?') if isinstance(entry, dict)
                           else '?')
        get = lambda key: self.require(entry, key, vid)  # noqa: E731
        sentence_index = get('video_id')
        num_frames = self.int_field(entry, 'frame_count', vid, minimum=1)
        tube_start = self.int_field(entry, 'tube_start_frame', vid)
        tube_end = self.int_field(entry, 'tube_end_frame', vid)
        if not 0 <= tube_start < tube_end <= num_frames:
            raise self.bad(
                f'[tube_start_frame, tube_end_frame) = [{tube_start}, '
                f'{tube_end}) is empty or outside the video of {num_frames} '
                'frames', vid, 'tube_start_frame/tube_end_frame')
        target = str(get('target_id'))
        video_tracks = trajectories.get(str(vid), {}) if isinstance(
            trajectories, dict) else {}
        track = video_tracks.get(target) if isinstance(video_tracks,
                                                       dict) else None
        if track is None:
            raise self.bad(f'no trajectory for target_id {target}', vid,
                           'trajectories')
        frames = np.arange(tube_start, tube_end)
        missing = [int(f) for f in frames if str(int(f)) not in track]
        if missing:
            raise self.bad(
                f'{tube_end - tube_start - len(missing)} boxes for the '
                f'{tube_end - tube_start} frames of the span; first missing '
                f'frame {missing[0]}', vid, 'trajectories')
        try:
            boxes = [track[str(int(f))]['bbox'] for f in frames]
        except (KeyError, TypeError) as error:
            raise self.bad(f'malformed box entry ({error!r})', vid,
                           'trajectories.bbox') from None
        boxes = self.boxes_field(boxes, 'trajectories.bbox', vid)
        return build_data_info(
            self.info_checks,
            sample_id=f'{vid}#{sentence_index}',
            video_id=vid,
            video_path=self.resolve_video_path(
                self.str_field(entry, 'video_path', vid), vid),
            sentence=get('caption'),
            qtype=str(get('qtype')),
            video=VideoMeta(
                num_frames,
                fps=check_fps(get('fps'), 'fps', self.where(vid)),
                height=self.int_field(entry, 'height', vid, minimum=1),
                width=self.int_field(entry, 'width', vid, minimum=1)),
            target=Target(
                (tube_start, tube_end),
                clip_span_frames=(self.int_field(entry, 'start_frame', vid),
                                  self.int_field(entry, 'end_frame', vid)),
                tube_frame_inds=frames,
                tube_boxes=xywh_to_xyxy(boxes),
                span_field='tube_start_frame/tube_end_frame',
                box_field='trajectories'))
