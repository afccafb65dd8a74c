"""Pixel and duration budgets, checked from headers before anything is decoded.

A 1 MB PNG can claim 20000 x 20000 pixels and a small mp4 a huge frame size
or a duration of days; decoded whole, either takes gigabytes. The loaders
(:class:`~mmstvg.datasets.transforms.GroundingDecordInit`, the inferencer's
:func:`~mmstvg.apis.open_video_source`) read the size first and refuse an
input over its budget with an error naming the file, its size, the budget
and the argument that raises it:

- an image: ``width * height`` from the header (PIL's ``Image.open`` reads
  only the header) against ``max_image_pixels``
  (:data:`DEFAULT_MAX_IMAGE_PIXELS`);
- a video: the frame size from the container's metadata (OpenCV's
  ``CAP_PROP_FRAME_WIDTH`` / ``HEIGHT``, no frame decoded) against
  ``max_frame_pixels`` (:data:`DEFAULT_MAX_FRAME_PIXELS`), and the duration,
  decord's frame count over its average fps, against ``max_video_seconds``
  (:data:`DEFAULT_MAX_VIDEO_SECONDS`).

``None`` switches a budget off. PIL's own limit (``PIL.Image.MAX_IMAGE_PIXELS``,
whose ``DecompressionBombError`` would name neither the budget nor how to
raise it) is not used for the header: the budget here decides, and the image
is then decoded with OpenCV.
"""
import threading
from typing import Optional, Tuple

__all__ = [
    'DEFAULT_MAX_IMAGE_PIXELS', 'DEFAULT_MAX_FRAME_PIXELS',
    'DEFAULT_MAX_VIDEO_SECONDS', 'InputBudgetError', 'check_duration_budget',
    'check_frame_budget', 'check_image_budget', 'image_header_size',
    'video_header_size'
]

#: Pixels (``width * height``) an image may have: 64 megapixels.
DEFAULT_MAX_IMAGE_PIXELS = 64_000_000
#: Pixels one video frame may have: 8K UHD (7680 x 4320, 33.2 megapixels).
DEFAULT_MAX_FRAME_PIXELS = 7680 * 4320
#: Seconds a video may last (frame count / average fps): 3 hours.
DEFAULT_MAX_VIDEO_SECONDS = 3 * 3600.0

_PIL_LIMIT_LOCK = threading.Lock()


class InputBudgetError(ValueError):
    """An image or a video over its pixel or duration budget."""


def image_header_size(path: str) -> Optional[Tuple[int, int]]:
    """``(width, height)`` from an image's header, or None when PIL cannot
    identify the file (OpenCV may still read it).

    PIL's own decompression-bomb check is off while the header is read (under
    a lock, restored after): the header is small whatever it claims, and the
    caller's budget, not PIL's, decides.
    """
    from PIL import Image
    with _PIL_LIMIT_LOCK:
        limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(path) as image:
                return tuple(int(v) for v in image.size)
        except Exception:  # UnidentifiedImageError, OSError: not PIL's format
            return None
        finally:
            Image.MAX_IMAGE_PIXELS = limit


def check_image_budget(path: str, max_image_pixels: Optional[int]) -> None:
    """Refuse an image whose header claims more than ``max_image_pixels``.

    Args:
        path: the image file.
        max_image_pixels: the budget in pixels; None: no budget (PIL's own
            limit still holds).

    Raises:
        InputBudgetError: naming the file, its size and the budget.
    """
    size = image_header_size(path)
    if size is None or max_image_pixels is None:
        return
    width, height = size
    if width * height > max_image_pixels:
        raise InputBudgetError(
            f'image {path} is {width} x {height} = {width * height} pixels, '
            f'over the budget max_image_pixels={max_image_pixels} (default '
            f'{DEFAULT_MAX_IMAGE_PIXELS}); raise max_image_pixels (an argument '
            'of the loader, None for no budget) to read it')


def video_header_size(path: str) -> Optional[Tuple[int, int]]:
    """``(width, height)`` of a video's frames from the container's metadata
    (OpenCV, no frame decoded), or None when it does not say."""
    import cv2
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            return None
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        capture.release()
    return (width, height) if width > 0 and height > 0 else None


def check_frame_budget(path: str, max_frame_pixels: Optional[int]) -> None:
    """Refuse a video whose metadata gives frames over ``max_frame_pixels``;
    called before the video is opened for decoding.

    Args:
        path: the video file.
        max_frame_pixels: the frame budget in pixels (None: none).

    Raises:
        InputBudgetError: naming the file, its frame size and the budget.
    """
    if max_frame_pixels is None:
        return
    size = video_header_size(path)
    if size is None:
        return
    width, height = size
    if width * height > max_frame_pixels:
        raise InputBudgetError(
            f'video {path} has {width} x {height} = {width * height} pixel '
            f'frames, over the budget max_frame_pixels={max_frame_pixels} '
            f'(default {DEFAULT_MAX_FRAME_PIXELS}); raise max_frame_pixels (an '
            'argument of the loader, None for no budget) to read it')


def check_duration_budget(path: str, num_frames: int, fps: float,
                          max_video_seconds: Optional[float]) -> None:
    """Refuse a video lasting over ``max_video_seconds``.

    Args:
        path: the video file.
        num_frames: the container's frame count (``len(decord.VideoReader)``).
        fps: its average frame rate.
        max_video_seconds: the duration budget in seconds (None: none).

    Raises:
        InputBudgetError: naming the file, its duration and the budget.
    """
    if max_video_seconds is None or not fps or fps <= 0:
        return
    seconds = num_frames / fps
    if seconds > max_video_seconds:
        raise InputBudgetError(
            f'video {path} lasts {seconds:.1f} s ({num_frames} frames at '
            f'{fps:.3f} fps), over the budget max_video_seconds='
            f'{max_video_seconds} (default {DEFAULT_MAX_VIDEO_SECONDS}); '
            'raise max_video_seconds (an argument of the loader, None for '
            'no budget) to read it')
