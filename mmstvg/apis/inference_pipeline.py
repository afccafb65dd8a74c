"""Run a config's test pipeline on a raw video (or frames, or an image) and a sentence.

A dataset gives the pipeline a data info with ground truth (see the data-info
contract in ``docs/en/conventions.md``); at inference there is none. This module
makes the difference explicit:

- :func:`build_inference_data_info` turns one user input (a video path, an
  ``(T, H, W, 3)`` frame array, an image path or an ``(H, W, 3)`` image array,
  plus a sentence) into a data info without any ``gt_*`` key;
- :class:`InferenceVideoInit` (registered in ``TRANSFORMS``) replaces
  ``GroundingDecordInit``: it opens the file with decord (or OpenCV for an
  image) or wraps the array, and fills ``num_frames``, ``fps``, ``duration``,
  ``height`` and ``width`` from the video itself;
- :func:`adapt_test_pipeline` rewrites a config's test pipeline: the loader
  becomes :class:`InferenceVideoInit`, the steps in
  :data:`ANNOTATION_TRANSFORMS` (ground-truth mapping) and
  :data:`RANDOM_TRANSFORMS` (augmentations) are dropped, frame samplers are put
  in test mode; every other step is kept as configured.
"""
import copy
import logging
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import print_log

from mmstvg.datasets.transforms.input_budget import (DEFAULT_MAX_FRAME_PIXELS,
                                                     DEFAULT_MAX_IMAGE_PIXELS,
                                                     DEFAULT_MAX_VIDEO_SECONDS,
                                                     check_duration_budget,
                                                     check_frame_budget,
                                                     check_image_budget)
from mmstvg.datasets.transforms.loading import (IMAGE_EXTENSIONS,
                                                GroundingDecordInit,
                                                ImageAsVideo, pipeline_error)
from mmstvg.datasets.validation import DEFAULT_MAX_SENTENCE_WORDS, check_sentence
from mmstvg.registry import TRANSFORMS
from mmstvg.structures import TASKS

__all__ = [
    'ANNOTATION_TRANSFORMS', 'RANDOM_TRANSFORMS', 'ArrayVideo',
    'InferenceVideoInit', 'adapt_test_pipeline', 'build_inference_data_info',
    'open_video_source'
]

#: Steps that map ground truth onto the sampled frames: nothing to map at inference.
ANNOTATION_TRANSFORMS = ('LoadGroundingAnnotations', )
#: Random augmentations: inference is deterministic.
RANDOM_TRANSFORMS = ('GroundingRandomFlip', )
#: Loaders replaced by :class:`InferenceVideoInit`.
LOADER_TRANSFORMS = ('GroundingDecordInit', )
#: Loader arguments kept by :class:`InferenceVideoInit` (the input budgets).
BUDGET_KEYS = ('max_image_pixels', 'max_frame_pixels', 'max_video_seconds')
#: Frame samplers whose ``test_mode`` is forced on.
SAMPLER_TRANSFORMS = ('UniformSampleFrames', )

VideoSource = Union[str, np.ndarray]


class ArrayVideo:
    """Decoded frames served through the part of decord's API the pipeline uses.

    Args:
        frames: uint8 array ``(T, H, W, 3)``, RGB.
        fps: frame rate the frames were taken at.
    """

    def __init__(self, frames: np.ndarray, fps: float):
        self.frames = frames
        self.fps = float(fps)

    def __len__(self) -> int:
        return len(self.frames)

    def get_avg_fps(self) -> float:
        return self.fps

    def get_batch(self, indices) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self.frames)):
            raise IndexError(f'frames {indices.tolist()} asked from an array of '
                             f'{len(self.frames)} frames')
        return self.frames[indices]


def _check_frames(frames: np.ndarray, task: str, name: str) -> np.ndarray:
    frames = np.asarray(frames)
    expected_ndim = 3 if task == 'rec' else 4
    if frames.dtype != np.uint8 or frames.ndim != expected_ndim or frames.shape[-1] != 3:
        shape = '(H, W, 3)' if task == 'rec' else '(T, H, W, 3)'
        raise ValueError(f'{name}: field "video": a {task} array must be uint8 {shape} '
                         f'RGB, got {frames.dtype} {frames.shape}')
    if task != 'rec' and len(frames) == 0:
        raise ValueError(f'{name}: field "video": the frame array is empty')
    return frames


def open_video_source(video: VideoSource, task: str = 'stvg', fps: Optional[float] = None,
                      num_threads: int = 1, name: str = 'input',
                      max_image_pixels: Optional[int] = DEFAULT_MAX_IMAGE_PIXELS,
                      max_frame_pixels: Optional[int] = DEFAULT_MAX_FRAME_PIXELS,
                      max_video_seconds: Optional[float] = DEFAULT_MAX_VIDEO_SECONDS):
    """A reader with ``__len__``, ``get_avg_fps`` and ``get_batch`` for any input.

    Args:
        video: a video or image path, an ``(T, H, W, 3)`` frame array or (task
            ``'rec'``) an ``(H, W, 3)`` image array, uint8 RGB.
        task: ``'stvg'``, ``'tvg'`` or ``'rec'``.
        fps: frame rate of a frame array (ignored for files; an image is 1 fps).
        num_threads: decord decoding threads.
        name: how errors name the input.
        max_image_pixels: an image file's pixel budget, read from its header
            before decoding (None: none); see
            :mod:`~mmstvg.datasets.transforms.input_budget`.
        max_frame_pixels: a video file's frame budget in pixels, from the
            container's metadata (None: none).
        max_video_seconds: a video file's duration budget (None: none).

    Returns:
        A ``decord.VideoReader``, an :class:`ImageAsVideo` or an :class:`ArrayVideo`.

    Raises:
        FileNotFoundError / ValueError: naming the input and the field
            (an :class:`~mmstvg.datasets.transforms.input_budget.InputBudgetError`,
            a ``ValueError``, for an input over its budget).
    """
    if isinstance(video, str):
        if not osp.isfile(video):
            raise FileNotFoundError(f'{name}: field "video": file {video} does not exist')
        if task == 'rec' or osp.splitext(video)[1].lower() in IMAGE_EXTENSIONS:
            check_image_budget(video, max_image_pixels)
            import mmcv
            image = mmcv.imread(video, channel_order='rgb')
            if image is None:
                raise ValueError(f'{name}: field "video": cannot read image {video}')
            return ImageAsVideo(image)
        check_frame_budget(video, max_frame_pixels)
        import decord
        reader = decord.VideoReader(video, num_threads=num_threads)
        check_duration_budget(video, len(reader), float(reader.get_avg_fps()),
                              max_video_seconds)
        return reader
    frames = _check_frames(video, task, name)
    if task == 'rec':
        return ImageAsVideo(frames)
    if fps is None or fps <= 0:
        raise ValueError(f'{name}: field "fps": a frame array needs a positive fps, '
                         f'got {fps!r}')
    return ArrayVideo(frames, fps)


def infer_task(video: VideoSource) -> str:
    """``'rec'`` for an image path or an ``(H, W, 3)`` array, else ``'stvg'``."""
    if isinstance(video, str):
        return 'rec' if osp.splitext(video)[1].lower() in IMAGE_EXTENSIONS else 'stvg'
    return 'rec' if np.ndim(video) == 3 else 'stvg'


def build_inference_data_info(video: VideoSource,
                              sentence: str,
                              index: int = 0,
                              task: Optional[str] = None,
                              fps: Optional[float] = None,
                              max_sentence_words: Optional[int] = DEFAULT_MAX_SENTENCE_WORDS,
                              long_sentence: str = 'error') -> dict:
    """The data info of one inference input: no ground truth, no video facts yet.

    :class:`InferenceVideoInit` adds ``num_frames``, ``fps``, ``duration``,
    ``height`` and ``width`` read from the video itself.

    Args:
        video: a path or a frame / image array (see :func:`open_video_source`).
        sentence: the query sentence (a phrase for REC).
        index: position of the input in the call; names array inputs.
        task: ``'stvg'``, ``'tvg'`` or ``'rec'``; None infers ``'rec'`` for an
            image and ``'stvg'`` otherwise.
        fps: frame rate of a frame array.
        max_sentence_words: the sentence budget in words (None: none), as
            the datasets' ``max_sentence_words``.
        long_sentence: ``'error'`` or ``'truncate'`` (logged), as the
            datasets' ``long_sentence``.

    Returns:
        A dict with ``sample_id``, ``video_id``, ``video_path`` (``''`` for an
        array), ``task``, ``sentence``, ``dataset_name`` (``'inference'``),
        ``qtype`` (``''``), and ``video_source`` / ``source_fps`` for the loader.

    Raises:
        ValueError: on a sentence the datasets would refuse (not text, not
            UTF-8, empty, over the budget: :func:`check_sentence`) or an
            unknown task, naming the input.
    """
    is_path = isinstance(video, str)
    video_id = osp.splitext(osp.basename(video))[0] if is_path else f'array{index}'
    name = f'input {index} ({video if is_path else video_id})'
    sentence, truncated = check_sentence(sentence, 'sentence', dict(ann_file=name),
                                         max_sentence_words, long_sentence)
    if truncated:
        print_log(f'{name}: the sentence was cut to max_sentence_words='
                  f'{max_sentence_words} words', logger='current', level=logging.WARNING)
    task = task or infer_task(video)
    if task not in TASKS:
        raise ValueError(f'{name}: field "task": must be one of {TASKS}, got {task!r}')
    return dict(sample_id=f'{index}:{video_id}', video_id=video_id,
                video_path=video if is_path else '', task=task, sentence=sentence,
                dataset_name='inference', qtype='', video_source=video,
                source_fps=fps)


@TRANSFORMS.register_module()
class InferenceVideoInit(GroundingDecordInit):
    """Open an inference input and read its facts from the video itself.

    Required keys: ``video_source`` (a path or an array), ``task``; optional
    ``source_fps`` (for arrays).

    Added keys: ``video_reader``, ``total_frames`` (as
    :class:`GroundingDecordInit`), and the data-info facts ``num_frames``
    (decodable frames), ``fps`` (the container's average), ``duration``
    (``num_frames / fps``; for a variable-frame-rate video the end of its
    last frame), ``height`` and ``width`` (of frame 0). ``video_source`` is
    removed (an array does not belong in the packed metainfo).

    Frames are timed by their presentation times
    (``frame_times='presentation'``, see
    :mod:`mmstvg.datasets.transforms.frame_times`): a variable-frame-rate
    video gets ``presentation_times``, so the prompt's time stamps and the
    reported times are when the frames are shown, not ``index / average
    fps``; a video whose times cannot be read is refused (field
    ``'frame_times'``). Frame arrays are timed ``index / fps``.

    Args:
        num_threads: decord decoding threads.
        max_image_pixels, max_frame_pixels, max_video_seconds: the input
            budgets, as :class:`GroundingDecordInit`'s.
    """

    def __init__(self, num_threads: int = 1,
                 max_image_pixels: Optional[int] = DEFAULT_MAX_IMAGE_PIXELS,
                 max_frame_pixels: Optional[int] = DEFAULT_MAX_FRAME_PIXELS,
                 max_video_seconds: Optional[float] = DEFAULT_MAX_VIDEO_SECONDS):
        super().__init__(num_threads=num_threads, frame_count_tolerance=0,
                         max_image_pixels=max_image_pixels,
                         max_frame_pixels=max_frame_pixels,
                         max_video_seconds=max_video_seconds,
                         frame_times='presentation')

    def _open(self, results: dict):
        name = results.get('sample_id', 'input')
        try:
            return open_video_source(results['video_source'], results['task'],
                                     results.get('source_fps'), self.num_threads, name,
                                     self.max_image_pixels, self.max_frame_pixels,
                                     self.max_video_seconds)
        except (FileNotFoundError, ValueError):
            raise
        except Exception as error:  # decord's DECORDError / RuntimeError
            raise pipeline_error(
                results, f'cannot open {results.get("video_path") or name} '
                f'({type(error).__name__})', 'video') from None

    def transform(self, results: dict) -> dict:
        for key in ('num_frames', 'fps', 'duration', 'height', 'width',
                    'presentation_times'):
            results.pop(key, None)
        results = super().transform(results)
        first = results['video_reader'].get_batch([0])
        first = first.asnumpy() if hasattr(first, 'asnumpy') else np.asarray(first)
        results['height'], results['width'] = int(first.shape[1]), int(first.shape[2])
        results['num_frames'] = int(results['num_frames'])
        results['fps'] = float(results['fps'])
        results.pop('video_source')
        results.pop('source_fps', None)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_threads={self.num_threads}, '
                f'max_image_pixels={self.max_image_pixels}, '
                f'max_frame_pixels={self.max_frame_pixels}, '
                f'max_video_seconds={self.max_video_seconds})')


def _type_name(step: dict) -> str:
    kind = step.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))
    return name.split('.')[-1]


def adapt_test_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """A config's test pipeline, rewritten for inputs without ground truth.

    - ``GroundingDecordInit`` -> :class:`InferenceVideoInit` (same
      ``num_threads`` and input budgets, :data:`BUDGET_KEYS`); a pipeline
      without it gets one at the front;
    - steps named in :data:`ANNOTATION_TRANSFORMS` and
      :data:`RANDOM_TRANSFORMS` are removed;
    - samplers in :data:`SAMPLER_TRANSFORMS` get ``test_mode=True``;
    - everything else (decoding, resize, pad, packing) is kept as is.

    Args:
        pipeline: the transform configs (not modified).

    Returns:
        A new list of transform configs.

    Raises:
        ValueError: when the pipeline has no ``PackGroundingInputs`` step.
    """
    adapted: List[dict] = []
    has_loader = False
    for step in pipeline:
        step = copy.deepcopy(dict(step))
        name = _type_name(step)
        if name in ANNOTATION_TRANSFORMS or name in RANDOM_TRANSFORMS:
            continue
        if name in LOADER_TRANSFORMS:
            step = dict(type='InferenceVideoInit', num_threads=step.get('num_threads', 1),
                        **{key: step[key] for key in BUDGET_KEYS if key in step})
            has_loader = True
        elif name in SAMPLER_TRANSFORMS:
            step['test_mode'] = True
        adapted.append(step)
    if not has_loader:
        adapted.insert(0, dict(type='InferenceVideoInit', num_threads=1))
    if not any(_type_name(step) == 'PackGroundingInputs' for step in adapted):
        raise ValueError('the test pipeline has no PackGroundingInputs step: '
                         f'{[_type_name(s) for s in pipeline]}')
    return adapted
