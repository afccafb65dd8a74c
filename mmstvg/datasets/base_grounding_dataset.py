"""The base of every grounding dataset: the data-info contract and bad-input policy.

Every dataset of mmstvg turns its source files into one dict per sample with the
same keys (the *data-info contract*, see ``docs/en/conventions.md``):

- ``sample_id``, ``video_id``, ``video_path``, ``task`` (``'stvg'`` | ``'tvg'``
  | ``'rec'``), ``sentence``, ``dataset_name``, ``qtype``;
- ``num_frames``, ``fps``, ``duration``, ``height``, ``width`` of the original
  video (an image is a one-frame video at 1 fps);
- ``gt_span_frames``: half-open ``[start, end)`` 0-based frame indices;
- ``gt_span_seconds``: ``(start / fps, end / fps)``;
- ``gt_tube_frame_inds`` (int64 ``(N,)``) and ``gt_tube_boxes`` (float32
  ``(N, 4)``, xyxy, pixels of the original frame).

mmstvg adds one optional key, ``clip_span_frames`` (half-open ``[start, end)``):
the part of the video the sample is about (VidSTG's ``used_segment``); the frame
samplers sample inside it. Every dataset here sets it (``[0, num_frames)`` where
the whole video is used).

Bad input (a missing video, a missing key, a box count that does not match the
span, a span outside the video, boxes outside the frame, an unreadable video met
by the pipeline) raises :class:`GroundingDataError` naming the annotation file,
the video id and the field; with ``on_bad_sample='skip'`` the sample is dropped
instead, counted in :attr:`BaseGroundingDataset.num_skipped` and logged with
MMLogger.
"""
import os
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from mmstvg.structures import frames_to_seconds

__all__ = ['GroundingDataError', 'BaseGroundingDataset', 'CONTRACT_KEYS']

#: Keys every dataset's ``parse_data_info`` returns.
CONTRACT_KEYS = ('sample_id', 'video_id', 'video_path', 'task', 'sentence',
                 'dataset_name', 'qtype', 'num_frames', 'fps', 'duration',
                 'height', 'width', 'gt_span_frames', 'gt_span_seconds',
                 'gt_tube_frame_inds', 'gt_tube_boxes')

BAD_SAMPLE_POLICIES = ('error', 'skip')


class GroundingDataError(ValueError):
    """A bad annotation or video, naming the file, the video and the field.

    Args:
        message: what is wrong.
        ann_file: the annotation file the sample comes from.
        video_id: the video (or image) id of the sample.
        field: the annotation field (or ``'video'``) that is wrong.
    """

    def __init__(self, message: str, ann_file: Optional[str] = None,
                 video_id: Optional[str] = None, field: Optional[str] = None):
        self.ann_file = ann_file
        self.video_id = video_id
        self.field = field
        self.reason = message
        # Only the parts given: a DataLoader worker re-raises the error in the
        # main process from its message alone.
        parts = [] if ann_file is None else [str(ann_file)]
        if video_id is not None:
            parts.append(f'video {video_id!r}')
        if field is not None:
            parts.append(f'field {field!r}')
        super().__init__(': '.join(parts + [message]))


class BaseGroundingDataset(BaseDataset):
    """Common base of the grounding datasets (STVG, TVG, REC).

    Subclasses implement :meth:`load_raw_annotations` (read the source files
    into a list of raw entries) and :meth:`parse_data_info` (one raw entry ->
    one contract dict, or a list of them); they call :meth:`bad` to report a
    problem and :meth:`finish_info` to fill the derived keys and validate.

    Args:
        ann_file: the annotation file.
        data_root: prefix joined to ``ann_file`` and to ``data_prefix``.
        data_prefix: ``dict(video='...')``: folder of the videos (images for
            REC) relative to ``data_root``.
        dataset_name: the name stored in every sample's ``dataset_name``;
            defaults to the class's ``DEFAULT_NAME``.
        on_bad_sample: ``'error'`` raises :class:`GroundingDataError` on bad
            input; ``'skip'`` drops the sample, counts it and logs it.
        check_video_exists: check at load time that every video file exists.
        box_tolerance: boxes may leave the frame by at most this many pixels
            (they are then clipped to it); further out is bad input.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`
            (``pipeline``, ``test_mode``, ``lazy_init``, ``serialize_data``,
            ``indices`` ...).
    """

    DEFAULT_NAME = 'grounding'
    TASK = 'stvg'

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: dict = dict(video=''),
                 dataset_name: Optional[str] = None,
                 on_bad_sample: str = 'error',
                 check_video_exists: bool = True,
                 box_tolerance: float = 1.0,
                 **kwargs):
        if on_bad_sample not in BAD_SAMPLE_POLICIES:
            raise ValueError(f'on_bad_sample must be one of '
                             f'{BAD_SAMPLE_POLICIES}, got {on_bad_sample!r}')
        self.dataset_name = dataset_name or self.DEFAULT_NAME
        self.dataset_name_given = dataset_name is not None
        self.on_bad_sample = on_bad_sample
        self.check_video_exists = check_video_exists
        self.box_tolerance = float(box_tolerance)
        self.skipped: Counter = Counter()
        #: Set by :class:`UniSTGDataset`: templates of this dataset's task.
        self.prompt_templates: Optional[List[str]] = None
        self._video_index: Optional[Dict[str, str]] = None
        super().__init__(
            ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
            **kwargs)

    # ------------------------------------------------------------------ #
    # Loading
    # ------------------------------------------------------------------ #
    def load_raw_annotations(self) -> List[Any]:
        """Read the source files into a list of raw entries."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        """Parse every raw entry; bad ones raise or are skipped and counted."""
        if self.ann_file and not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: annotation file {self.ann_file} '
                'does not exist')
        data_list = []
        for raw in self.load_raw_annotations():
            try:
                parsed = self.parse_data_info(raw)
            except GroundingDataError as error:
                self._handle_bad(error)
                continue
            parsed = parsed if isinstance(parsed, list) else [parsed]
            data_list.extend(parsed)
        if self.skipped:
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__} ({self.ann_file}): skipped '
                f'{self.num_skipped} bad samples by field: '
                f'{dict(self.skipped)}')
        return data_list

    @property
    def num_skipped(self) -> int:
        """Number of samples dropped as bad input so far (this process)."""
        return sum(self.skipped.values())

    def _handle_bad(self, error: GroundingDataError) -> None:
        if self.on_bad_sample == 'error':
            raise error
        self.skipped[error.field or 'unknown'] += 1
        MMLogger.get_current_instance().warning(f'skipping bad sample: {error}')

    def bad(self, message: str, video_id: Any, field: str) -> GroundingDataError:
        """Build the error for a bad sample of this dataset's annotation file."""
        return GroundingDataError(message, ann_file=self.ann_file,
                                  video_id=str(video_id), field=field)

    def require(self, entry: dict, key: str, video_id: Any) -> Any:
        """``entry[key]``, or a :class:`GroundingDataError` naming the key."""
        if not isinstance(entry, dict) or key not in entry:
            raise self.bad('missing key', video_id, key)
        return entry[key]

    # ------------------------------------------------------------------ #
    # Paths
    # ------------------------------------------------------------------ #
    @property
    def video_prefix(self) -> str:
        return self.data_prefix.get('video', '') or ''

    def resolve_video_path(self, relative: str, video_id: Any) -> str:
        """Full path of a video: ``<video prefix>/<relative>``.

        When that file does not exist, the video prefix is searched
        recursively for a file of the same name (some releases, e.g. TubeDETR's
        HC-STVG layout, keep videos in sub-folders). With
        ``check_video_exists`` a video found nowhere is bad input.
        """
        path = osp.join(self.video_prefix, relative)
        if not self.check_video_exists or osp.isfile(path):
            return path
        found = self._find_in_index(osp.basename(relative))
        if found is None:
            raise self.bad(f'video file {path} does not exist', video_id, 'video')
        return found

    def _find_in_index(self, name: str) -> Optional[str]:
        if self._video_index is None:
            self._video_index = {}
            if osp.isdir(self.video_prefix):
                for root, _, files in os.walk(self.video_prefix):
                    for file in files:
                        self._video_index.setdefault(file, osp.join(root, file))
        return self._video_index.get(name)

    # ------------------------------------------------------------------ #
    # Validation
    # ------------------------------------------------------------------ #
    def finish_info(self,
                    *,
                    sample_id: str,
                    video_id: str,
                    video_path: str,
                    sentence: str,
                    num_frames: int,
                    fps: float,
                    height: int,
                    width: int,
                    span_frames: Sequence[int],
                    tube_frame_inds: Union[np.ndarray, Sequence[int]],
                    tube_boxes: Union[np.ndarray, Sequence[Sequence[float]]],
                    span_seconds: Optional[Sequence[float]] = None,
                    clip_span_frames: Optional[Sequence[int]] = None,
                    qtype: str = '',
                    task: Optional[str] = None,
                    span_field: str = 'span',
                    box_field: str = 'bbox',
                    source_id: Optional[str] = None,
                    **extra) -> dict:
        """Assemble a contract dict and check it; raises on bad input.

        Checks: the span is non-empty and inside ``[0, num_frames]``; every
        annotated frame lies inside the video; boxes are finite, have positive
        size and stay inside the frame up to ``box_tolerance`` pixels (then
        they are clipped to it).

        Args:
            span_field / box_field: source field names quoted in errors.
            source_id: the sample's id in the annotation file, quoted in
                errors (defaults to ``video_id``).
            Others: the contract values (see the module docstring).

        Returns:
            The contract dict (plus ``clip_span_frames`` and ``extra``).
        """
        contract_video_id = video_id
        video_id = source_id if source_id is not None else video_id
        if num_frames is None or int(num_frames) <= 0:
            raise self.bad(f'frame count must be positive, got {num_frames}',
                           video_id, 'num_frames')
        if fps is None or not float(fps) > 0:
            raise self.bad(f'fps must be positive, got {fps}', video_id, 'fps')
        num_frames, fps = int(num_frames), float(fps)
        start, end = int(span_frames[0]), int(span_frames[1])
        if not 0 <= start < end <= num_frames:
            raise self.bad(
                f'span [{start}, {end}) is empty or outside the video of '
                f'{num_frames} frames', video_id, span_field)
        inds = np.asarray(tube_frame_inds, dtype=np.int64).reshape(-1)
        boxes = np.asarray(tube_boxes, dtype=np.float32).reshape(-1, 4)
        if len(inds) != len(boxes):
            raise self.bad(f'{len(boxes)} boxes for {len(inds)} frames',
                           video_id, box_field)
        if len(inds):
            if inds.min() < 0 or inds.max() >= num_frames:
                raise self.bad(
                    f'annotated frames {int(inds.min())}..{int(inds.max())} '
                    f'outside the video of {num_frames} frames', video_id,
                    box_field)
            if (np.diff(inds) <= 0).any():
                raise self.bad('annotated frames are not strictly increasing',
                               video_id, box_field)
            boxes = self._check_boxes(boxes, int(height), int(width), video_id,
                                      box_field)
        if span_seconds is None:
            span_seconds = frames_to_seconds((start, end), fps)
        clip = (0, num_frames) if clip_span_frames is None else (
            int(clip_span_frames[0]), int(clip_span_frames[1]))
        if not 0 <= clip[0] < clip[1] <= num_frames:
            raise self.bad(f'clip [{clip[0]}, {clip[1]}) outside the video of '
                           f'{num_frames} frames', video_id, 'clip_span_frames')
        info = dict(
            sample_id=str(sample_id),
            video_id=str(contract_video_id),
            video_path=video_path,
            task=task or self.TASK,
            sentence=str(sentence),
            dataset_name=self.dataset_name,
            qtype=qtype,
            num_frames=num_frames,
            fps=fps,
            duration=num_frames / fps,
            height=int(height),
            width=int(width),
            gt_span_frames=[start, end],
            gt_span_seconds=(float(span_seconds[0]), float(span_seconds[1])),
            gt_tube_frame_inds=inds,
            gt_tube_boxes=boxes,
            clip_span_frames=list(clip))
        info.update(extra)
        return info

    def _check_boxes(self, boxes: np.ndarray, height: int, width: int,
                     video_id: Any, field: str) -> np.ndarray:
        if height <= 0 or width <= 0:
            raise self.bad(f'frame size {height}x{width} is not positive',
                           video_id, 'height/width')
        if not np.isfinite(boxes).all():
            raise self.bad('box with a non-finite coordinate', video_id, field)
        if ((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])).any():
            row = int(np.flatnonzero((boxes[:, 2] <= boxes[:, 0])
                                     | (boxes[:, 3] <= boxes[:, 1]))[0])
            raise self.bad(f'box {row} {boxes[row].tolist()} (xyxy) has no '
                           'area', video_id, field)
        tol = self.box_tolerance
        outside = ((boxes[:, 0] < -tol) | (boxes[:, 1] < -tol)
                   | (boxes[:, 2] > width + tol) | (boxes[:, 3] > height + tol))
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise self.bad(
                f'box {row} {boxes[row].tolist()} (xyxy) is outside the '
                f'{width}x{height} frame', video_id, field)
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
        return boxes

    # ------------------------------------------------------------------ #
    # Samples
    # ------------------------------------------------------------------ #
    def get_data_info(self, idx: int) -> dict:
        """The contract dict of sample ``idx`` plus ``ann_file`` (for errors)
        and, inside a mixture, a ``prompt_template`` (random at training
        time, ``templates[idx % n]`` at test time)."""
        info = super().get_data_info(idx)
        info['ann_file'] = self.ann_file
        if self.prompt_templates:
            templates = self.prompt_templates
            pick = idx % len(templates) if self.test_mode else \
                np.random.randint(len(templates))
            info['prompt_template'] = templates[pick]
        return info

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline; a :class:`GroundingDataError` raised by it (an
        unreadable video) is re-raised, or with ``on_bad_sample='skip'`` at
        training time counted, logged and answered with None so that MMEngine
        draws another sample."""
        try:
            return super().prepare_data(idx)
        except GroundingDataError as error:
            if self.on_bad_sample == 'skip' and not self.test_mode:
                self._handle_bad(error)
                return None
            raise

    def get_cat_ids(self, idx: int) -> List[int]:  # pragma: no cover - n/a
        return []
