"""Fixtures of the dataset tests: tiny mp4 videos whose frame ``i`` is flat
grey ``10 * i`` (so decoding can be checked frame by frame), and writers of
annotation files in each real format."""
import json

import cv2
import numpy as np
import pytest

from mmstvg.utils import register_all_modules

register_all_modules()


def write_video(path: str, num_frames: int = 20, size=(32, 32), fps: float = 10.0,
                frames: np.ndarray = None) -> str:
    """Write an mp4v video; by default frame ``i`` is flat grey ``10 * i``."""
    height, width = size
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    assert writer.isOpened()
    for i in range(num_frames):
        frame = frames[i] if frames is not None else np.full(
            (height, width, 3), 10 * i, dtype=np.uint8)
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()
    return path


def write_json(path: str, obj) -> str:
    with open(path, 'w') as f:
        json.dump(obj, f)
    return path


def hcstvg_entry(**overrides) -> dict:
    """An HC-STVG v1 raw entry of a 20-frame 32x32 video: 5 boxes from the
    1-based st_frame 6, i.e. 0-based frames 5..9."""
    entry = dict(
        bbox=[[2, 3, 10, 12], [3, 3, 10, 12], [4, 3, 10, 12], [5, 3, 10, 12],
              [6, 3, 10, 12]],
        st_time=0.5, ed_time=1.0, img_num=20, caption='the man on the left waves',
        width=32, height=32, st_frame=6)
    entry.update(overrides)
    return entry


@pytest.fixture
def video_dir(tmp_path):
    """A folder with ``v1.mp4`` and ``v2.mp4`` (20 grey-ramp frames, 32x32)."""
    folder = tmp_path / 'videos'
    folder.mkdir()
    write_video(str(folder / 'v1.mp4'))
    write_video(str(folder / 'v2.mp4'))
    return folder


@pytest.fixture
def hcstvg_file(tmp_path, video_dir):
    """HC-STVG v1 json with one sample (v1.mp4), fps from the 20 s rule would
    be 1.0, so the entry gives ``fps=10``."""
    return write_json(str(tmp_path / 'hcstvg.json'),
                      {'v1.mp4': hcstvg_entry(fps=10.0)})


def build_pipeline(num_frames=4, test_mode=True, sampler='uniform', **sampler_kwargs):
    """The standard test pipeline (no resize)."""
    sample = dict(type='UniformSampleFrames', num_frames=num_frames,
                  test_mode=test_mode) if sampler == 'uniform' else dict(
                      type='FPSSampleFrames', **sampler_kwargs)
    return [
        dict(type='GroundingDecordInit'), sample,
        dict(type='GroundingDecordDecode'),
        dict(type='LoadGroundingAnnotations'),
        dict(type='ChooseQuestionTemplate'),  # a mixture's question; else nothing
        dict(type='PackGroundingInputs')
    ]





@pytest.fixture
def make_pipeline():
    return build_pipeline


#: The small synthetic set whose files ``test_synthetic_scenes.py`` pins by md5.
SMALL_SYNTHETIC = dict(num_train=3, num_val=2, num_test=2, size=32, seed=0)


@pytest.fixture(scope='session')
def small_synthetic(tmp_path_factory):
    """The root of ``generate_synthetic_stvg(**SMALL_SYNTHETIC)`` (default
    frame range, fps and sizes), with scenes and LLaVA-Video files."""
    from mmstvg.datasets import generate_synthetic_stvg
    root = str(tmp_path_factory.mktemp('small_synthetic'))
    generate_synthetic_stvg(root, **SMALL_SYNTHETIC)
    return root


@pytest.fixture
def helpers():
    return dict(write_video=write_video, write_json=write_json,
                hcstvg_entry=hcstvg_entry)
