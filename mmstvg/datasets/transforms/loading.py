"""Open a video once, sample frames (uniformly or at a target fps), decode them.

The transforms communicate through the results dict:

- :class:`GroundingDecordInit` opens ``video_path`` (an image for REC is read
  with OpenCV and served as a one-frame video) and sets ``video_reader`` and
  ``total_frames`` (frames that can be decoded and are annotated), and, for a
  variable-frame-rate video timed by its presentation times,
  ``presentation_times`` (see :mod:`.frame_times`).
- :class:`UniformSampleFrames` / :class:`FPSSampleFrames` set ``frame_inds``
  (int64, ascending, original 0-based indices) and ``frame_times``
  (float64 seconds: ``presentation_times[frame_inds]`` where the loader set
  them, else ``frame_inds / fps``).
- :class:`GroundingDecordDecode` decodes them in one ``get_batch`` call into
  ``imgs``: uint8 ``(T, H, W, 3)`` RGB, and sets ``ori_shape`` / ``img_shape``.
"""
import os
import os.path as osp
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmstvg.registry import TRANSFORMS
from ..base_grounding_dataset import GroundingDataError
from .frame_times import (FRAME_TIME_SOURCES, FrameTimesError, frame_boundaries,
                          is_constant_rate, time_source_of)
from .input_budget import (DEFAULT_MAX_FRAME_PIXELS, DEFAULT_MAX_IMAGE_PIXELS,
                           DEFAULT_MAX_VIDEO_SECONDS, InputBudgetError,
                           check_duration_budget, check_frame_budget,
                           check_image_budget)

__all__ = [
    'GroundingDecordInit', 'UniformSampleFrames', 'FPSSampleFrames',
    'GroundingDecordDecode'
]

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def pipeline_error(results: dict, message: str, field: str) -> GroundingDataError:
    """A :class:`GroundingDataError` naming the sample's annotation file,
    video id and the field."""
    return GroundingDataError(
        message, ann_file=results.get('ann_file', '<no annotation file>'),
        video_id=results.get('video_id', results.get('video_path')), field=field)


class ImageAsVideo:
    """A decoded image served through the part of decord's API the pipeline
    uses: one frame at 1 fps."""

    def __init__(self, image: np.ndarray):
        self.image = image

    def __len__(self) -> int:
        return 1

    def get_avg_fps(self) -> float:
        return 1.0

    def get_batch(self, indices) -> np.ndarray:
        indices = np.asarray(indices)
        if indices.size and (indices.min() < 0 or indices.max() > 0):
            raise IndexError(f'an image has only frame 0, asked {indices}')
        return np.repeat(self.image[None], len(indices), axis=0)


@TRANSFORMS.register_module()
class GroundingDecordInit(BaseTransform):
    """Open the video of a sample once with decord.

    Required keys: ``video_path``. Optional: ``num_frames``, ``fps``,
    ``height``, ``width``, ``task`` (from the dataset; missing ones - e.g. at
    inference on a raw video - are filled from the file).

    Added keys: ``video_reader``, ``total_frames``: the frames the samplers
    may use, ``min(num_frames, decodable frames)``; ``presentation_times``
    (float64 ``(decodable + 1,)`` frame boundaries in seconds) when the frames
    are timed by their presentation times and the video does not have a
    constant frame rate (see :mod:`.frame_times`).

    A file with an image extension (or a sample with ``task == 'rec'``) is
    read with OpenCV as a one-frame video.

    Before anything is decoded the input is held to a budget
    (:mod:`~mmstvg.datasets.transforms.input_budget`): an image's header
    size, a video's frame size from the container's metadata and its
    duration (frame count / fps).

    Args:
        num_threads: decord decoding threads.
        frame_count_tolerance: a video may have up to this many frames fewer
            than the annotation's ``num_frames`` (container frame counts of
            real datasets are off by a frame or two); fewer than that is a
            truncated video.
        max_image_pixels: the most pixels (``width * height``) an image may
            have (default 64 MP); None: no budget.
        max_frame_pixels: the most pixels a video frame may have (default
            8K, 7680 x 4320); None: no budget.
        max_video_seconds: the longest a video may last (default 3 hours);
            None: no budget.
        frame_times: how the sampled frames are timed: ``'index'``
            (``index / fps``), ``'presentation'`` (the container's
            presentation times, for variable-frame-rate videos) or ``'auto'``
            (``'presentation'`` for samples whose annotation is in wall-clock
            seconds, ``time_axis='seconds'``; ``'index'`` otherwise). See
            :mod:`.frame_times`.
        reuse_last: keep the last opened reader (one per worker process) and
            use it again for the same, unchanged file, as the sentences of one
            video segment ask in a row (``SharedVideoBatchSampler``).

    Raises:
        GroundingDataError: naming the annotation file, the video id and the
            field ``'video'`` for a missing, unreadable, truncated or
            over-budget video or image; the field ``'frame_times'`` for a
            video timed by presentation times that has none.
    """

    def __init__(self, num_threads: int = 1, frame_count_tolerance: int = 3,
                 max_image_pixels: Optional[int] = DEFAULT_MAX_IMAGE_PIXELS,
                 max_frame_pixels: Optional[int] = DEFAULT_MAX_FRAME_PIXELS,
                 max_video_seconds: Optional[float] = DEFAULT_MAX_VIDEO_SECONDS,
                 frame_times: str = 'auto', reuse_last: bool = True):
        if frame_times not in FRAME_TIME_SOURCES:
            raise ValueError(f'frame_times must be one of {FRAME_TIME_SOURCES}, '
                             f'got {frame_times!r}')
        self.frame_times = frame_times
        self.reuse_last = reuse_last
        self._last = None
        self.num_threads = num_threads
        self.frame_count_tolerance = frame_count_tolerance
        self.max_image_pixels = max_image_pixels
        self.max_frame_pixels = max_frame_pixels
        self.max_video_seconds = max_video_seconds

    def _open(self, results: dict):
        path = results['video_path']
        if not osp.isfile(path):
            raise pipeline_error(results, f'video file {path} does not exist',
                                 'video')
        is_image = results.get('task') == 'rec' or \
            osp.splitext(path)[1].lower() in IMAGE_EXTENSIONS
        try:
            if is_image:
                check_image_budget(path, self.max_image_pixels)
            else:
                check_frame_budget(path, self.max_frame_pixels)
        except InputBudgetError as error:
            raise pipeline_error(results, str(error), 'video') from None
        if is_image:
            import mmcv
            image = mmcv.imread(path, channel_order='rgb')
            if image is None:
                raise pipeline_error(results, f'cannot read image {path}',
                                     'video')
            return ImageAsVideo(image)
        import decord
        try:
            reader = decord.VideoReader(path, num_threads=self.num_threads)
        except Exception as error:  # decord raises DECORDError / RuntimeError
            raise pipeline_error(
                results, f'cannot open video {path} ({type(error).__name__}: '
                f'{str(error).splitlines()[0] if str(error) else ""})',
                'video') from None
        try:
            check_duration_budget(path, len(reader), float(reader.get_avg_fps()),
                                  self.max_video_seconds)
        except InputBudgetError as error:
            raise pipeline_error(results, str(error), 'video') from None
        return reader

    def __getstate__(self) -> dict:  # readers do not pickle: workers open their own
        return dict(self.__dict__, _last=None)

    def _open_or_reuse(self, results: dict):
        """The last reader again when it read the same, unchanged file."""
        path = results['video_path']
        try:
            stat = os.stat(path)
            key = (path, stat.st_size, stat.st_mtime_ns, results.get('task') == 'rec')
        except (OSError, TypeError):
            key = None
        last = getattr(self, '_last', None)
        if key is not None and last is not None and last[0] == key:
            return last[1]
        reader = self._open(results)
        # the reader, and its presentation times once read (decord reads them
        # from the whole container: once a video, not once a sentence)
        self._last = (key, reader, {}) if key is not None and self.reuse_last else None
        return reader

    def _times_of(self, reader, decodable: int, results: dict):
        """:meth:`_presentation_times`, kept with the reused reader."""
        last = getattr(self, '_last', None)
        cache = last[2] if last is not None and last[1] is reader else None
        cache_key = (decodable, float(results['fps']))
        if cache is not None and cache_key in cache:
            return cache[cache_key]
        times = self._presentation_times(reader, decodable, results)
        if cache is not None:
            cache[cache_key] = times
        return times

    def transform(self, results: dict) -> dict:
        reader = self._open_or_reuse(results)
        decodable = len(reader)
        if decodable <= 0:
            raise pipeline_error(results, f'video {results["video_path"]} has '
                                 'no frames', 'video')
        expected = results.get('num_frames')
        if expected is None:
            results['num_frames'] = expected = decodable
        fps_from_file = results.get('fps') is None
        if fps_from_file:
            results['fps'] = float(reader.get_avg_fps())
            results['duration'] = expected / results['fps']
        if decodable < int(expected) - self.frame_count_tolerance:
            raise pipeline_error(
                results, f'video {results["video_path"]} is truncated: '
                f'{decodable} decodable frames, the annotation says {expected}',
                'video')
        results['video_reader'] = reader
        results['total_frames'] = min(decodable, int(expected))
        results.pop('presentation_times', None)
        if time_source_of(self.frame_times, results) == 'presentation':
            times = self._times_of(reader, decodable, results)
            if times is not None:
                results['presentation_times'] = times
                if fps_from_file:  # the end of the last frame, not N / average fps
                    results['duration'] = float(times[results['total_frames']])
        return results

    @staticmethod
    def _presentation_times(reader, decodable: int, results: dict):
        """The frame boundaries of a variable-frame-rate video; None for a
        constant frame rate (``index / fps`` is exact) or a reader without
        timestamps (an image)."""
        try:
            times = frame_boundaries(reader, decodable)
        except FrameTimesError as error:
            raise pipeline_error(
                results, f'video {results.get("video_path")}: {error}, so its '
                'frames cannot be timed (re-encode it at a constant frame rate, '
                'e.g. ffmpeg -i IN -fps_mode cfr OUT)', 'frame_times') from None
        if times is None or is_constant_rate(times, float(results['fps'])):
            return None
        return times

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_threads={self.num_threads}, '
                f'frame_count_tolerance={self.frame_count_tolerance}, '
                f'max_image_pixels={self.max_image_pixels}, '
                f'max_frame_pixels={self.max_frame_pixels}, '
                f'max_video_seconds={self.max_video_seconds}, '
                f'frame_times={self.frame_times!r})')


def clip_bounds(results: dict) -> Tuple[int, int]:
    """``[start, end)`` the samplers sample from: ``clip_span_frames`` (or
    the whole video) cut to ``total_frames``."""
    total = int(results['total_frames'])
    start, end = results.get('clip_span_frames') or (0, total)
    start, end = int(start), min(int(end), total)
    if end <= start:
        raise pipeline_error(
            results, f'clip [{start}, {end}) is empty in a video of {total} '
            'decodable frames', 'clip_span_frames')
    return start, end


def set_frames(results: dict, frame_inds: np.ndarray) -> dict:
    """Set ``frame_inds``, their ``frame_times`` (the presentation times
    where the loader read them, else ``index / fps``) and their count."""
    frame_inds = np.asarray(frame_inds, dtype=np.int64)
    results['frame_inds'] = frame_inds
    presentation = results.get('presentation_times')
    if presentation is not None:
        results['frame_times'] = np.asarray(presentation, dtype=np.float64)[frame_inds]
    else:
        results['frame_times'] = frame_inds.astype(np.float64) / float(results['fps'])
    results['num_sampled_frames'] = len(frame_inds)
    return results


@TRANSFORMS.register_module()
class UniformSampleFrames(BaseTransform):
    """Sample ``num_frames`` frames uniformly over the clip (SpaceVLLM: 64).

    The clip ``[s, e)`` (``clip_span_frames`` or the whole video) of length
    ``L = e - s`` is cut into ``N = num_frames`` equal segments. In test mode
    (or without ``jitter``) frame ``k`` is the segment centre
    ``s + floor((k + 0.5) * L / N)``. At training time with ``jitter`` it is
    drawn uniformly among the frames of segment ``k``, whose integer bounds
    are ``[floor(k * L / N), floor((k + 1) * L / N))``, so no frame is drawn
    twice when ``L >= N``. A clip shorter than ``N`` repeats frames (indices
    stay ascending); an image (one frame) gives the single frame 0.

    Required keys: ``total_frames``, ``fps``; optional ``clip_span_frames``.
    Added keys: ``frame_inds``, ``frame_times``, ``num_sampled_frames``.

    Args:
        num_frames: frames to sample.
        test_mode: deterministic centres.
        jitter: random offsets inside each segment when not in test mode.
    """

    def __init__(self, num_frames: int = 64, test_mode: bool = False,
                 jitter: bool = True):
        if num_frames <= 0:
            raise ValueError(f'num_frames must be positive, got {num_frames}')
        self.num_frames = num_frames
        self.test_mode = test_mode
        self.jitter = jitter

    def sample(self, start: int, end: int) -> np.ndarray:
        """Indices of the sampled frames in ``[start, end)``."""
        length = end - start
        if length == 1:
            return np.array([start], dtype=np.int64)
        segments = np.arange(self.num_frames)
        if self.test_mode or not self.jitter:
            positions = (segments + 0.5) * (length / self.num_frames)
            inds = start + np.floor(positions).astype(np.int64)
        else:
            # Integer segment bounds: no frame is drawn twice when L >= N.
            bounds = np.floor(np.arange(self.num_frames + 1) * (length / self.num_frames))
            widths = np.maximum(bounds[1:] - bounds[:-1], 1)
            offsets = np.floor(np.random.random_sample(self.num_frames) * widths)
            inds = start + (bounds[:-1] + offsets).astype(np.int64)
        return np.clip(inds, start, end - 1)

    def transform(self, results: dict) -> dict:
        start, end = clip_bounds(results)
        return set_frames(results, self.sample(start, end))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_frames={self.num_frames}, '
                f'test_mode={self.test_mode}, jitter={self.jitter})')


@TRANSFORMS.register_module()
class FPSSampleFrames(BaseTransform):
    """Sample frames at a target fps with a maximum count (TubeDETR's rule).

    Over the frames ``[s, e - clip_end_offset)`` of the clip ``[s, e)``
    (``clip_span_frames``, or the whole video), with ``rate =
    min(target_fps / fps, 1)``, frame ``i`` is kept when ``floor(i * rate)``
    is larger than that of the last kept frame (frame ``s`` is always kept).
    If more than ``max_frames`` are kept, ``max_frames`` of them are taken at
    positions ``floor(j * n / max_frames)``, ``j = 0..max_frames-1``. It is
    deterministic (no jitter).

    This is TubeDETR's test-time selection (``datasets/vidstg.py`` and
    ``datasets/hcstvg.py``) with one difference it leaves to the config:
    for VidSTG TubeDETR samples ``range(start_frame, end_frame)``
    (``clip_end_offset=0``); for HC-STVG it samples ``range(0,
    frame_count - 1)``, i.e. never the last frame (``clip_end_offset=1``),
    and takes the fps as ``frame_count / 20`` (what
    :class:`HCSTVGDataset` uses where the annotation has no ``fps``).
    TubeDETR's training-time random temporal crops are not reproduced.

    Required keys: ``total_frames``, ``fps``; optional ``clip_span_frames``.
    Added keys: ``frame_inds``, ``frame_times``, ``num_sampled_frames``.

    Args:
        target_fps: frames per second to sample.
        max_frames: the most frames to return.
        clip_end_offset: frames left out at the clip's end (TubeDETR on
            HC-STVG: 1).
    """

    def __init__(self, target_fps: float = 5.0, max_frames: int = 200,
                 clip_end_offset: int = 0):
        if target_fps <= 0 or max_frames <= 0:
            raise ValueError('target_fps and max_frames must be positive')
        if clip_end_offset < 0:
            raise ValueError('clip_end_offset must be >= 0, got '
                             f'{clip_end_offset}')
        self.target_fps = float(target_fps)
        self.max_frames = int(max_frames)
        self.clip_end_offset = int(clip_end_offset)

    def sample(self, start: int, end: int, fps: float) -> np.ndarray:
        """Indices of the sampled frames in ``[start, end)`` of a video at
        ``fps``."""
        rate = min(self.target_fps / fps, 1.0)
        inds = np.arange(start, end, dtype=np.int64)
        bins = np.floor(inds * rate).astype(np.int64)
        keep = np.ones(len(inds), dtype=bool)
        keep[1:] = bins[1:] != bins[:-1]
        inds = inds[keep]
        if len(inds) > self.max_frames:
            pick = (np.arange(self.max_frames) * len(inds)) // self.max_frames
            inds = inds[pick]
        return inds

    def transform(self, results: dict) -> dict:
        start, end = clip_bounds(results)
        end = max(start + 1, end - self.clip_end_offset)
        return set_frames(results, self.sample(start, end, float(results['fps'])))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(target_fps={self.target_fps}, '
                f'max_frames={self.max_frames}, '
                f'clip_end_offset={self.clip_end_offset})')


@TRANSFORMS.register_module()
class GroundingDecordDecode(BaseTransform):
    """Decode the sampled frames with one ``get_batch`` call.

    Repeated indices are decoded once. The reader is dropped from the results
    afterwards (readers do not pickle across worker processes).

    With ``reuse_last`` the last decoded clip is kept (one per worker
    process): a sample asking for the same frames of the same, unchanged file
    gets them again without decoding, as the sentences of one video segment
    do when ``SharedVideoBatchSampler`` batches them together. The kept clip
    is the one handed on, not a copy, and is read-only: the later transforms
    make new arrays (resize, flip, pad; :class:`PackGroundingInputs` copies a
    read-only one), and one writing into ``imgs`` in place fails instead of
    changing the clip a later sample gets. A copy of every clip cost a
    full-size clip's memory and ~0.2 s a sample at 1280 x 720 (64 frames),
    which a shuffled training order paid for nothing
    (``docs/en/shared_video_evaluation.md``, "Decoding at the real size").

    Required keys: ``video_reader``, ``frame_inds``. Optional ``height`` /
    ``width`` (checked against the decoded frames).
    Added keys: ``imgs`` (uint8 ``(T, H, W, 3)`` RGB; read-only with
    ``reuse_last``), ``ori_shape``, ``img_shape`` (``(H, W)``).

    Raises:
        GroundingDataError: on a decoding failure (field ``'video'``) or a
            frame size that differs from the annotation (``'height/width'``).
    """

    def __init__(self, reuse_last: bool = True):
        self.reuse_last = reuse_last
        self._last: Optional[Tuple[tuple, np.ndarray]] = None

    def __getstate__(self) -> dict:  # workers start without a cached clip
        return dict(self.__dict__, _last=None)

    @staticmethod
    def _clip_key(results: dict, frame_inds: np.ndarray) -> Optional[tuple]:
        path = results.get('video_path')
        try:
            stat = os.stat(path)
        except (OSError, TypeError):
            return None
        return (path, stat.st_size, stat.st_mtime_ns, frame_inds.tobytes())

    def transform(self, results: dict) -> dict:
        reader = results.pop('video_reader')
        frame_inds = np.asarray(results['frame_inds'], dtype=np.int64)
        key = self._clip_key(results, frame_inds) if self.reuse_last else None
        if key is not None and self._last is not None and self._last[0] == key:
            frames = self._last[1]
        else:
            self._last = None  # not alive beside the next clip while it decodes
            frames = np.ascontiguousarray(self._decode(reader, frame_inds, results))
            if key is not None:
                frames.flags.writeable = False
                self._last = (key, frames)
        del reader
        height, width = frames.shape[1:3]
        expected: Optional[Tuple[int, int]] = None
        if results.get('height') and results.get('width'):
            expected = (int(results['height']), int(results['width']))
        if expected is not None and expected != (height, width):
            raise pipeline_error(
                results, f'decoded frames are {height}x{width} (HxW), the '
                f'annotation says {expected[0]}x{expected[1]}', 'height/width')
        results['height'], results['width'] = int(height), int(width)
        results['imgs'] = np.ascontiguousarray(frames)
        results['ori_shape'] = (int(height), int(width))
        results['img_shape'] = (int(height), int(width))
        return results

    @staticmethod
    def _decode(reader, frame_inds: np.ndarray, results: dict) -> np.ndarray:
        """The frames at ``frame_inds``, each distinct index decoded once."""
        unique, inverse = np.unique(frame_inds, return_inverse=True)
        try:
            batch = reader.get_batch(unique.tolist())
            frames = batch.asnumpy() if hasattr(batch, 'asnumpy') else batch
        except Exception as error:
            raise pipeline_error(
                results, f'cannot decode frames {unique.tolist()[:8]}... of '
                f'{results.get("video_path")} ({type(error).__name__})',
                'video') from None
        if len(unique) != len(frame_inds):
            frames = frames[inverse.reshape(-1)]
        return frames
