"""Frame samplers, decoding and GT mapping against hand-computed values."""
import numpy as np
import pytest

from mmstvg.datasets.transforms import (FPSSampleFrames, GroundingDecordDecode,
                                        GroundingDecordInit,
                                        LoadGroundingAnnotations,
                                        UniformSampleFrames, tube_boxes_at)


def sampled(transform, total=20, fps=10.0, clip=None):
    results = dict(total_frames=total, fps=fps)
    if clip is not None:
        results['clip_span_frames'] = clip
    return transform(results)


def test_uniform_test_mode_centres():
    out = sampled(UniformSampleFrames(num_frames=4, test_mode=True))
    # L=20, N=4: segments of 5 frames, centres floor(2.5 + 5k).
    assert out['frame_inds'].tolist() == [2, 7, 12, 17]
    np.testing.assert_allclose(out['frame_times'], [0.2, 0.7, 1.2, 1.7])
    out = sampled(UniformSampleFrames(num_frames=8, test_mode=True))
    # 2.5-frame segments: floor(1.25, 3.75, 6.25, ...).
    assert out['frame_inds'].tolist() == [1, 3, 6, 8, 11, 13, 16, 18]
    assert out['frame_inds'].dtype == np.int64


def test_uniform_inside_clip_and_short_clip():
    out = sampled(UniformSampleFrames(num_frames=4, test_mode=True), clip=(5, 15))
    assert out['frame_inds'].tolist() == [6, 8, 11, 13]
    np.testing.assert_allclose(out['frame_times'], [0.6, 0.8, 1.1, 1.3])
    # A 3-frame clip and 6 samples: each frame twice, ascending.
    out = sampled(UniformSampleFrames(num_frames=6, test_mode=True), total=3)
    assert out['frame_inds'].tolist() == [0, 0, 1, 1, 2, 2]
    # An image: the single frame.
    out = sampled(UniformSampleFrames(num_frames=64, test_mode=False), total=1, fps=1.0)
    assert out['frame_inds'].tolist() == [0]


def test_uniform_jitter_stays_in_its_segment():
    np.random.seed(0)
    sampler = UniformSampleFrames(num_frames=4, test_mode=False)
    seen = set()
    for _ in range(50):
        inds = sampled(sampler)['frame_inds']
        # Segment k is frames [5k, 5k + 5).
        assert ((inds >= np.arange(4) * 5) & (inds < np.arange(4) * 5 + 5)).all()
        seen.update(inds.tolist())
    assert seen == set(range(20))  # every frame gets drawn sometime


def test_fps_sampler_like_tubedetr():
    # 10 fps -> 4 fps: rate 0.4, the first frame of each floor(i * 0.4).
    out = sampled(FPSSampleFrames(target_fps=4, max_frames=100))
    assert out['frame_inds'].tolist() == [0, 3, 5, 8, 10, 13, 15, 18]
    np.testing.assert_allclose(out['frame_times'],
                               [0.0, 0.3, 0.5, 0.8, 1.0, 1.3, 1.5, 1.8])
    # max_frames=3 takes positions floor(j * 8 / 3) = 0, 2, 5.
    out = sampled(FPSSampleFrames(target_fps=4, max_frames=3))
    assert out['frame_inds'].tolist() == [0, 5, 13]
    # A target above the video's rate keeps every frame of the clip.
    out = sampled(FPSSampleFrames(target_fps=30, max_frames=100), clip=(4, 9))
    assert out['frame_inds'].tolist() == [4, 5, 6, 7, 8]


def tubedetr_frame_ids(start, end, sampling_rate, video_max_len):
    """TubeDETR's frame selection, re-implemented from its description
    (``datasets/hcstvg.py`` / ``vidstg.py`` of antoyang/TubeDETR): keep frame
    ``f`` of ``range(start, end)`` when ``int(f * rate)`` exceeds that of the
    last kept frame, then subsample to ``video_max_len`` at
    ``(j * n) // video_max_len``. HC-STVG: ``start = 0``,
    ``end = frame_count - 1``, ``rate = 5 / (frame_count / 20)``."""
    ids = [start]
    for frame in range(start, end):
        if int(ids[-1] * sampling_rate) < int(frame * sampling_rate):
            ids.append(frame)
    if len(ids) > video_max_len:
        ids = [ids[(j * len(ids)) // video_max_len] for j in range(video_max_len)]
    return ids


@pytest.mark.parametrize('frame_count', [100, 101, 300, 499, 500, 601, 1200])
def test_fps_sampler_reproduces_tubedetr_on_hcstvg(frame_count):
    """HC-STVG: TubeDETR never samples the last frame (``range(0,
    frame_count - 1)``); ``clip_end_offset=1`` reproduces it for every
    frame count, ``clip_end_offset=0`` differs on 100-frame videos."""
    fps = frame_count / 20
    expected = tubedetr_frame_ids(0, frame_count - 1, min(5 / fps, 1), 200)
    out = sampled(FPSSampleFrames(target_fps=5, max_frames=200,
                                  clip_end_offset=1), total=frame_count, fps=fps)
    assert out['frame_inds'].tolist() == expected
    if frame_count == 100:  # 5 fps: every frame, the last one too without offset
        plain = sampled(FPSSampleFrames(target_fps=5, max_frames=200),
                        total=frame_count, fps=fps)
        assert plain['frame_inds'].tolist() == list(range(100))
        assert expected == list(range(99))


def test_fps_sampler_reproduces_tubedetr_on_vidstg():
    """VidSTG: TubeDETR samples ``range(start_frame, end_frame)``."""
    out = sampled(FPSSampleFrames(target_fps=5, max_frames=200), total=900,
                  fps=29.97, clip=(37, 811))
    assert out['frame_inds'].tolist() == tubedetr_frame_ids(37, 811, 5 / 29.97,
                                                            200)


def test_tube_boxes_exact_and_interpolated():
    tube_inds = np.array([2, 6])
    tube_boxes = np.array([[0, 0, 10, 10], [4, 8, 14, 18]], dtype=np.float32)
    boxes, mask = tube_boxes_at([1, 2, 4, 6, 7], (2, 8), tube_inds, tube_boxes)
    assert mask.tolist() == [False, True, True, True, False]
    np.testing.assert_allclose(boxes[1], [0, 0, 10, 10])
    np.testing.assert_allclose(boxes[2], [2, 4, 12, 14])  # halfway 2 -> 6
    np.testing.assert_allclose(boxes[3], [4, 8, 14, 18])
    np.testing.assert_allclose(boxes[[0, 4]], 0)
    # A TVG sample: no tube, no boxes.
    boxes, mask = tube_boxes_at([1, 2], (0, 5), np.zeros(0), np.zeros((0, 4)))
    assert not mask.any() and boxes.shape == (2, 4)


def test_decode_gives_the_sampled_frames(video_dir):
    results = dict(video_path=str(video_dir / 'v1.mp4'), num_frames=20, fps=10.0,
                   height=32, width=32)
    results = GroundingDecordInit()(results)
    assert results['total_frames'] == 20
    results = UniformSampleFrames(num_frames=4, test_mode=True)(results)
    results = GroundingDecordDecode()(results)
    imgs = results['imgs']
    assert imgs.shape == (4, 32, 32, 3) and imgs.dtype == np.uint8
    assert 'video_reader' not in results
    # Frame i is grey 10 * i: frames 2, 7, 12, 17.
    np.testing.assert_allclose(imgs.reshape(4, -1).mean(1), [20, 70, 120, 170], atol=4)
    assert results['ori_shape'] == (32, 32)


def test_decode_repeated_indices(video_dir):
    results = GroundingDecordInit()(dict(video_path=str(video_dir / 'v1.mp4')))
    # Without annotation the video's own frame count and fps are used.
    assert results['num_frames'] == 20 and results['fps'] == pytest.approx(10.0)
    results['frame_inds'] = np.array([3, 3, 9])
    imgs = GroundingDecordDecode()(results)['imgs']
    np.testing.assert_allclose(imgs.reshape(3, -1).mean(1), [30, 30, 90], atol=4)


def test_load_annotations_on_sampled_frames():
    results = dict(frame_inds=np.array([2, 7, 12, 17]), gt_span_frames=[5, 10],
                   gt_tube_frame_inds=np.arange(5, 10),
                   gt_tube_boxes=np.array([[k, 3, k + 10, 15] for k in range(2, 7)],
                                          dtype=np.float32))
    out = LoadGroundingAnnotations()(results)
    assert out['gt_box_mask'].tolist() == [False, True, False, False]
    np.testing.assert_allclose(out['gt_boxes'][1], [4, 3, 14, 15])  # frame 7
