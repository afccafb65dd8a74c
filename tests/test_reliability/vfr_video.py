"""Write a real variable-frame-rate mp4 without ffmpeg or PyAV.

OpenCV writes a constant-rate mp4 (``mp4v``, one ``stts`` entry: every frame
lasts the same). :func:`write_vfr_video` writes one, then rewrites its
``stts`` box with one entry per frame, so that each frame lasts as long as
asked, and fixes the durations of ``mdhd``, ``mvhd``, ``tkhd`` and ``elst``
and the sizes of the boxes around ``stts``. OpenCV puts ``moov`` after
``mdat``, so no chunk offset moves. decord (FFmpeg) reads the result as any
other variable-frame-rate file: ``get_frame_timestamp`` gives the written
presentation times and ``get_avg_fps`` frames / duration.
"""
import struct
from typing import Dict, Iterator, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['write_vfr_video', 'presentation_starts']

#: Boxes holding other boxes on the way to ``stts``.
CONTAINERS = (b'moov', b'trak', b'edts', b'mdia', b'minf', b'stbl')
STTS = (b'moov', b'trak', b'mdia', b'minf', b'stbl', b'stts')


def _boxes(data: bytes, start: int, end: int,
           path: Tuple[bytes, ...] = ()) -> Iterator[Tuple[Tuple[bytes, ...], int, int]]:
    """``(path, offset, size)`` of every box, depth first."""
    while start < end:
        size, kind = struct.unpack('>I4s', data[start:start + 8])
        yield path + (kind, ), start, size
        if kind in CONTAINERS:
            yield from _boxes(data, start + 8, start + size, path + (kind, ))
        start += size


def write_vfr_video(path: str, durations: Sequence[float],
                    size: Tuple[int, int] = (32, 24)) -> str:
    """Write an mp4 whose frame ``i`` lasts ``durations[i]`` seconds.

    Frame ``i`` is flat grey ``(37 * i) % 256``.

    Args:
        path: the ``.mp4`` to write.
        durations: each frame's duration in seconds (multiples of 1/10240 s
            are exact in OpenCV's time base).
        size: ``(width, height)``.

    Returns:
        ``path``.
    """
    width, height = size
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10, (width, height))
    assert writer.isOpened()
    for i in range(len(durations)):
        writer.write(np.full((height, width, 3), (37 * i) % 256, dtype=np.uint8))
    writer.release()
    data = bytearray(open(path, 'rb').read())
    found: Dict[Tuple[bytes, ...], Tuple[int, int]] = {
        box_path: (offset, box_size) for box_path, offset, box_size in _boxes(data, 0, len(data))}
    mdhd = found[(b'moov', b'trak', b'mdia', b'mdhd')][0]  # version 0 boxes
    media_scale = struct.unpack('>I', data[mdhd + 20:mdhd + 24])[0]
    deltas = [round(d * media_scale) for d in durations]
    mvhd = found[(b'moov', b'mvhd')][0]
    movie_scale = struct.unpack('>I', data[mvhd + 20:mvhd + 24])[0]
    movie_duration = round(sum(deltas) / media_scale * movie_scale)
    struct.pack_into('>I', data, mdhd + 24, sum(deltas))
    struct.pack_into('>I', data, mvhd + 24, movie_duration)
    struct.pack_into('>I', data, found[(b'moov', b'trak', b'tkhd')][0] + 28, movie_duration)
    elst = found.get((b'moov', b'trak', b'edts', b'elst'))
    if elst is not None:
        struct.pack_into('>I', data, elst[0] + 16, movie_duration)
    body = struct.pack('>II', 0, len(deltas)) + b''.join(
        struct.pack('>II', 1, delta) for delta in deltas)
    stts = struct.pack('>I4s', 8 + len(body), b'stts') + body
    offset, old_size = found[STTS]
    for depth in range(1, len(STTS)):  # the boxes around stts grow with it
        outer, outer_size = found[STTS[:depth]]
        struct.pack_into('>I', data, outer, outer_size + len(stts) - old_size)
    data[offset:offset + old_size] = stts
    with open(path, 'wb') as f:
        f.write(bytes(data))
    return path


def presentation_starts(durations: Sequence[float]) -> np.ndarray:
    """When each frame is shown: the running sum of the durations before it."""
    return np.concatenate([[0.0], np.cumsum(durations)[:-1]])
