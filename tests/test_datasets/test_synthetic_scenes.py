"""Scene records of the synthetic set: they change no video and no earlier file,
and they agree with the HC-STVG annotation and the drawn pixels."""
import hashlib
import json
import os.path as osp
import runpy
import sys

import cv2
import decord
import numpy as np
import pytest

from mmstvg.datasets.synthetic import COLORS, DIRECTIONS, _make_video
from mmstvg.datasets.synthetic_language import DIRECTION_WORDS

#: md5 of the files of ``generate_synthetic_stvg(root, num_train=3, num_val=2,
#: num_test=2, size=32, seed=0)`` (the ``small_synthetic`` fixture), computed
#: with the code of commit c239867, before the scene records existed
#: (``hashlib.md5(open(path, 'rb').read())`` of every file it wrote).
ANNOTATION_MD5 = {
    'annotations/charades_sta_test.txt': '2f1e4915d0ad344624518221c3cb11e8',
    'annotations/charades_sta_train.txt': 'd14c89402a263986ec848bb55a49115f',
    'annotations/charades_sta_val.txt': '77e7c9bd2c31ec2e28796997fe948965',
    'annotations/hcstvg_v1_test.json': '1725d5b656869f08481612090522394b',
    'annotations/hcstvg_v1_train.json': 'f8aeb090b9d8759e8f6110d237291dd6',
    'annotations/hcstvg_v1_val.json': 'c08f5fd25fb3caaafadd87b045bc4dd5',
    'annotations/refcoco_test.json': 'ba8e155d73649cbfeb50ce9701d350af',
    'annotations/refcoco_train.json': 'c72b5dbfa849c394ab0d455f03456c8f',
    'annotations/refcoco_val.json': 'b20b3f5458fa3434e22a1e8ad1731727',
    'annotations/video_meta.json': '264eb76b8b8cd780b3879122ff7956c6',
}
#: The encoded media of the same run (opencv-python 5.1.0, its mp4v encoder
#: and PNG writer); checked only with that OpenCV version.
MEDIA_MD5 = {
    'images/test/synth_test_00000.png': '4be6b0514da5776a4894d1c522e6e093',
    'images/test/synth_test_00001.png': '59a3772a9e6a3daea708a6bec810aa21',
    'images/train/synth_train_00000.png': '4a77483a15bd2793fa0197b24810594c',
    'images/train/synth_train_00001.png': 'b373615ba4ad4b47484b0c22e8f37a47',
    'images/train/synth_train_00002.png': 'af30c7132321f3b83017c5607ffd572a',
    'images/val/synth_val_00000.png': '3593362a8e49a1e3050565af4563dda4',
    'images/val/synth_val_00001.png': '8dfc8959dc50c3163c40ff87b6c2424d',
    'videos/synth_test_00000.mp4': '3af82511e290309f7e68f006fc6123c7',
    'videos/synth_test_00001.mp4': 'a1a7220cb6fb9051a23be9f7b573bc78',
    'videos/synth_train_00000.mp4': 'a5062549e71d063ccc2e989dbbc484e5',
    'videos/synth_train_00001.mp4': '7e25d36ef6f7a15f9b217c83bb492f95',
    'videos/synth_train_00002.mp4': '91be51190d6ad8b6c9db54d9988aa598',
    'videos/synth_val_00000.mp4': '58aa7dde8bc76f92f3f2180b400e1e7e',
    'videos/synth_val_00001.mp4': '765c4a05d53774fedf39f62bfb8f3bde',
}
MEDIA_OPENCV = '5.1.0'
#: Per video ``(split_id, index)``: the frame count, the md5 of the raw RGB
#: frames ``_make_video`` returns and the PCG64 state of the video's generator
#: after it (same commit and arguments). The state pins the number and
#: order of the random draws whatever the encoder.
FRAMES = {
    (0, 0): (46, '3e4d6c071059b322d23a464235f772b9',
             150898928195013980081619669549469787993),
    (0, 1): (47, 'c86a8853da2cc236c833eb219560920f',
             41966252732824966707472236907687841418),
    (0, 2): (35, 'a22fee1f3e050fc628a184a2eecb85f3',
             295017505879417909670920231596506983497),
    (1, 0): (40, '973a51de121d7479134eb89b2e6bed8f',
             84791060612055324224493242352470783686),
    (1, 1): (43, '107f3ea0cf4530aba8027655f47ab3e0',
             279083750383407259943070960704705660484),
    (2, 0): (48, 'd16088b8eb7c5af8c2428f96ddad2ff6',
             317858357735839009546284490074629517086),
    (2, 1): (48, '3f60f588b1d9ceda5469024d8c1602ee',
             45090173459686540551741793973447932724),
}
SPLITS = ('train', 'val', 'test')


def md5(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


def load(root: str, name: str):
    with open(osp.join(root, 'annotations', name)) as f:
        return json.load(f)


def test_earlier_files_are_byte_identical(small_synthetic):
    for name, expected in ANNOTATION_MD5.items():
        assert md5(osp.join(small_synthetic, name)) == expected, name


def test_encoded_media_are_byte_identical(small_synthetic):
    if cv2.__version__ != MEDIA_OPENCV:
        pytest.skip(f'the media md5s were taken with OpenCV {MEDIA_OPENCV}')
    for name, expected in MEDIA_MD5.items():
        assert md5(osp.join(small_synthetic, name)) == expected, name


def test_frames_and_random_draws_are_unchanged():
    for (split_id, index), (num, frames_md5, state) in FRAMES.items():
        rng = np.random.default_rng([0, split_id, index])
        num_frames = int(rng.integers(32, 49))
        frames, ann = _make_video(rng, 32, num_frames, (0.25, 0.7), (1, 2))
        assert num_frames == num
        assert hashlib.md5(frames.tobytes()).hexdigest() == frames_md5
        assert rng.bit_generator.state['state']['state'] == state
        assert len(ann['objects']) in (2, 3)


def test_scene_records_match_the_annotation_and_pixels(small_synthetic):
    assert tuple(DIRECTIONS) == DIRECTION_WORDS
    for split in SPLITS:
        scenes = load(small_synthetic, f'scenes_{split}.json')
        hcstvg = load(small_synthetic, f'hcstvg_v1_{split}.json')
        assert [s['video'] for s in scenes] == list(hcstvg)
        for scene in scenes:
            entry = hcstvg[scene['video']]
            num = scene['num_frames']
            assert (num, scene['fps'], scene['width']) == (entry['img_num'], 8.0, 32)
            start = entry['st_frame'] - 1
            end = start + len(entry['bbox'])
            assert scene['target_span_frames'] == [start, end]
            assert scene['sentence'] == entry['caption']
            target, *distractors = scene['objects']
            assert target['role'] == 'target' and 1 <= len(distractors) <= 2
            assert all(d['role'] == 'distractor' for d in distractors)
            assert scene['sentence'] == (f'the {target["color"]} {target["shape"]} '
                                         f'moves {target["motion"]}')
            assert target['move_span_frames'] == [start, end]
            expected_visible = [start, end] if scene['target_mode'] == 'appear' else [0, num]
            assert target['visible_span_frames'] == expected_visible
            assert target['visible'] == [expected_visible[0] <= t < expected_visible[1]
                                         for t in range(num)]
            # The drawn box of the target is [x - h, x + h] around its centre.
            half = target['half_size']
            for t, box in zip(range(start, end), entry['bbox']):
                x, y = target['centres'][t]
                assert box == [x - half, y - half, 2 * half + 1, 2 * half + 1]
            for obj in scene['objects']:
                assert len(obj['centres']) == len(obj['visible']) == num
                centres = np.array(obj['centres'])
                if obj['motion'] == 'still':
                    assert obj['move_span_frames'] is None
                    assert (centres == centres[0]).all()
                else:
                    a, b = obj['move_span_frames']
                    step = np.sign(centres[b - 1] - centres[a])
                    assert step.tolist() == list(DIRECTIONS[obj['motion']])
                    # Still outside its path, monotone along it.
                    assert (centres[:a + 1] == centres[a]).all()
                    assert (centres[b - 1:] == centres[b - 1]).all()
                    assert (np.sign(np.diff(centres[a:b], axis=0)) * step >= 0).all()
            assert all(d['motion'] != target['motion'] for d in distractors)


def test_scene_colours_are_drawn_where_the_records_say(small_synthetic):
    scene = load(small_synthetic, 'scenes_train.json')[0]
    reader = decord.VideoReader(osp.join(small_synthetic, 'videos', scene['video']))
    target = scene['objects'][0]
    first, last = target['visible_span_frames']
    frame = (first + last) // 2
    x, y = target['centres'][frame]
    pixel = reader[frame].asnumpy()[y, x].astype(int)
    assert np.abs(pixel - np.array(COLORS[target['color']])).max() < 70


def test_write_language_flag(tmp_path, monkeypatch):
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    tool = osp.join(repo, 'tools/dataset_converters/generate_synthetic_stvg.py')
    for flag, expected in (([], True), (['--no-write-language'], False)):
        root = tmp_path / str(expected)
        monkeypatch.setattr(sys, 'argv', [tool, '--out-dir', str(root), '--num-train', '1',
                                          '--num-val', '0', '--size', '32', '--min-frames',
                                          '8', '--max-frames', '8', '--no-rec', '--no-tvg']
                            + flag)
        runpy.run_path(tool, run_name='__main__')
        assert (root / 'annotations' / 'scenes_train.json').is_file()
        assert (root / 'annotations' / 'llava_video_train.json').is_file() == expected
