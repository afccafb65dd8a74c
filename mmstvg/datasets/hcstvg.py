"""HC-STVG v1 and v2, read from the provider's raw json files."""
import os.path as osp
from typing import List, Tuple

import numpy as np

from mmstvg.registry import DATASETS
from mmstvg.structures import xywh_to_xyxy
from .base_grounding_dataset import BaseGroundingDataset
from .validation import Target, VideoMeta, as_int, build_data_info, check_fps

__all__ = ['HCSTVGDataset', 'HCSTVGv2Dataset']


@DATASETS.register_module()
class HCSTVGDataset(BaseGroundingDataset):
    """HC-STVG v1 (human-centric spatio-temporal video grounding).

    **Source files**: the provider's raw json (``train.json`` / ``test.json``
    of the v1 annotations), a dict keyed by the video file name
    (``'55_vfjywN5CN0Y.mp4'``), and the videos under ``data_prefix['video']``
    (looked up recursively when not directly there).

    **Keys read** per video: ``st_frame``, ``bbox`` (one ``[x, y, w, h]`` per
    frame from ``st_frame`` on), ``img_num`` (frame count), ``caption``,
    ``width``, ``height``; ``st_time`` / ``ed_time`` are not needed (the span
    follows from the boxes). Where an entry carries an ``ed_frame`` (1-based,
    inclusive; the challenge's result format), the box count must match it.
    An optional ``fps`` key (written by mmstvg's synthetic generator and by
    ``tools/dataset_converters/hcstvg.py``) gives the frame rate; it must be
    a finite number > 0 (``fps: 0`` is an error, never replaced). Without the
    key the fps is ``img_num / 20`` since every HC-STVG video lasts 20 s
    ("img_num = fps*20" in the provider's README).

    **Frame-index convention converted from**: the provider's README says
    ``st_frame`` "start with 1": box ``k`` belongs to 1-based frame
    ``st_frame + k``, i.e. 0-based frame ``st_frame - 1 + k``. By default
    (``st_frame_base=1``) this class follows the README, as STCAT does:
    ``gt_span_frames = [st_frame - 1, st_frame - 1 + len(bbox))``. TubeDETR
    uses ``st_frame`` directly as a 0-based index (one frame later);
    ``st_frame_base=0`` reproduces that reading. The provider's ``st_time``
    mostly agrees with the README reading: ``st_time * fps`` rounds to
    ``st_frame - 1`` in 3 of the first 4 entries of its sample ``test.json``
    (``fps = img_num / 20``).

    One sample per video: ``sample_id = '<video file>#0'``,
    ``video_id`` = the key without extension.

    Args:
        st_frame_base: 1 (README / STCAT) or 0 (TubeDETR), see above.
        video_duration: seconds per video used when an entry has no ``fps``.
        **kwargs: see :class:`BaseGroundingDataset`.
    """

    DEFAULT_NAME = 'hcstvg_v1'
    TASK = 'stvg'
    CAPTION_KEY = 'caption'

    def __init__(self, st_frame_base: int = 1, video_duration: float = 20.0,
                 **kwargs):
        if st_frame_base not in (0, 1):
            raise ValueError(f'st_frame_base must be 0 or 1, got {st_frame_base}')
        self.st_frame_base = st_frame_base
        self.video_duration = float(video_duration)
        super().__init__(**kwargs)

    def load_raw_annotations(self) -> List[Tuple[str, dict]]:
        annotations = self.load_json()
        if not isinstance(annotations, dict):
            raise self.bad(f'HC-STVG annotations must be a dict keyed by '
                           f'video file, got {type(annotations).__name__}',
                           '<all>', '<top level>')
        return list(annotations.items())

    def frame_size(self, entry: dict, video_file: str) -> Tuple[int, int]:
        """``(height, width)`` of the video (v1: ``height`` / ``width``)."""
        return (self.int_field(entry, 'height', video_file, minimum=1),
                self.int_field(entry, 'width', video_file, minimum=1))

    def parse_data_info(self, raw: Tuple[str, dict]) -> dict:
        video_file, entry = raw
        video_id = osp.splitext(video_file)[0]
        if not isinstance(entry, dict):
            raise self.bad(f'the entry must be a dict, got '
                           f'{type(entry).__name__}', video_file, '<entry>')
        st_frame = self.int_field(entry, 'st_frame', video_file)
        boxes = self.boxes_field(self.require(entry, 'bbox', video_file),
                                 'bbox', video_file)
        num_frames = self.int_field(entry, 'img_num', video_file, minimum=1)
        sentence = self.require(entry, self.CAPTION_KEY, video_file)
        height, width = self.frame_size(entry, video_file)
        if 'fps' in entry:
            fps = check_fps(entry['fps'], 'fps', self.where(video_file))
        else:
            fps = num_frames / self.video_duration

        start = st_frame - self.st_frame_base
        end = start + len(boxes)
        if 'ed_frame' in entry:
            ed_frame = self.int_field(entry, 'ed_frame', video_file)
            if ed_frame - st_frame + 1 != len(boxes):
                raise self.bad(
                    f'{len(boxes)} boxes but st_frame={st_frame} and ed_frame='
                    f'{ed_frame} (inclusive) span {ed_frame - st_frame + 1} '
                    'frames', video_file, 'bbox')
        if start < 0 or end > num_frames:
            raise self.bad(
                f'st_frame {st_frame} with {len(boxes)} boxes gives frames '
                f'[{start}, {end}) outside the video of img_num={num_frames} '
                'frames', video_file, 'st_frame/bbox')
        return build_data_info(
            self.info_checks,
            sample_id=f'{video_file}#0',
            video_id=video_id,
            video_path=self.resolve_video_path(video_file, video_file),
            sentence=sentence,
            video=VideoMeta(num_frames, fps, height, width),
            target=Target((start, end), np.arange(start, end),
                          xywh_to_xyxy(boxes), span_field='st_frame',
                          box_field='bbox'),
            source_id=video_file)


@DATASETS.register_module()
class HCSTVGv2Dataset(HCSTVGDataset):
    """HC-STVG v2: the v1 format with two keys renamed.

    **Source files**: ``trainv2.json`` / ``valv2.json`` (dict keyed by video
    file) and the videos. **Keys read**: as v1 but the sentence is
    ``English`` and the frame size ``img_size = [height, width]``.
    **Frame-index convention**: as v1 (``st_frame`` 1-based by default).
    """

    DEFAULT_NAME = 'hcstvg_v2'
    CAPTION_KEY = 'English'

    def frame_size(self, entry: dict, video_file: str) -> Tuple[int, int]:
        size = self.require(entry, 'img_size', video_file)
        if not isinstance(size, (list, tuple)) or len(size) != 2:
            raise self.bad(f'img_size must be [height, width], got {size!r}',
                           video_file, 'img_size')
        where = self.where(video_file)
        return (as_int(size[0], 'img_size', where, minimum=1),
                as_int(size[1], 'img_size', where, minimum=1))
