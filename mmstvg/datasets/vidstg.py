"""VidSTG in the widely used converted form (TubeDETR's ``preproc_vidstg.py``)."""
import json
from typing import List, Tuple

import numpy as np

from mmstvg.registry import DATASETS
from mmstvg.structures import xywh_to_xyxy
from .base_grounding_dataset import BaseGroundingDataset

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

    def load_raw_annotations(self) -> List[Tuple[dict, dict]]:
        with open(self.ann_file) as f:
            annotations = json.load(f)
        for key in ('videos', 'trajectories'):
            if key not in annotations:
                raise self.bad('missing top-level key', '<all>', key)
        trajectories = annotations['trajectories']
        return [(video, trajectories) for video in annotations['videos']]

    def parse_data_info(self, raw: Tuple[dict, dict]) -> dict:
        entry, trajectories = raw
        vid = self.require(entry, 'original_video_id',
                           entry.get('video_id', '?') if isinstance(entry, dict)
                           else '?')
        get = lambda key: self.require(entry, key, vid)  # noqa: E731
        sentence_index = get('video_id')
        num_frames = int(get('frame_count'))
        tube_start, tube_end = int(get('tube_start_frame')), int(get('tube_end_frame'))
        if not 0 <= tube_start < tube_end <= num_frames:
            raise self.bad(
                f'[tube_start_frame, tube_end_frame) = [{tube_start}, '
                f'{tube_end}) is empty or outside the video of {num_frames} '
                'frames', vid, 'tube_start_frame/tube_end_frame')
        target = str(get('target_id'))
        track = trajectories.get(str(vid), {}).get(target)
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
            boxes = np.array([track[str(int(f))]['bbox'] for f in frames],
                             dtype=np.float64)
        except (KeyError, TypeError, ValueError) as error:
            raise self.bad(f'malformed box entry ({error})', vid,
                           'trajectories.bbox') from None
        return self.finish_info(
            sample_id=f'{vid}#{sentence_index}',
            video_id=vid,
            video_path=self.resolve_video_path(get('video_path'), vid),
            sentence=get('caption'),
            qtype=str(get('qtype')),
            num_frames=num_frames,
            fps=float(get('fps')),
            height=int(get('height')),
            width=int(get('width')),
            span_frames=(tube_start, tube_end),
            clip_span_frames=(int(get('start_frame')), int(get('end_frame'))),
            tube_frame_inds=frames,
            tube_boxes=xywh_to_xyxy(boxes),
            span_field='tube_start_frame/tube_end_frame',
            box_field='trajectories')
