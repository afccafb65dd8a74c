"""Writers of tiny videos and of each QA benchmark's annotation files."""
import json

import cv2
import numpy as np
import pytest

from mmstvg.utils import register_all_modules

register_all_modules()


def write_video(path, num_frames=12, size=(24, 32), fps=6.0):
    """An mp4v video whose frame ``i`` is flat grey ``10 * i``."""
    height, width = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    assert writer.isOpened()
    for i in range(num_frames):
        writer.write(np.full((height, width, 3), 10 * i, dtype=np.uint8))
    writer.release()
    return str(path)


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return str(path)


@pytest.fixture
def qa_writers():
    return dict(video=write_video, json=write_json)
