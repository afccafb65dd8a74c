"""The synthetic set: seeded, real mp4s, loadable by the real loaders."""
import json
import os.path as osp

import decord
import numpy as np
import pytest

from mmstvg.datasets import (CharadesSTADataset, HCSTVGDataset, RefCOCODataset,
                             generate_synthetic_stvg)
from mmstvg.datasets.synthetic import COLORS, whole_video_centre_baseline


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synth'))
    summary = generate_synthetic_stvg(root, num_train=4, num_val=3, size=32,
                                      frame_range=(12, 16), fps=8.0, seed=3)
    return root, summary


def test_files_and_determinism(synthetic, tmp_path):
    root, summary = synthetic
    assert summary['num_videos'] == dict(train=4, val=3)
    for name in ('hcstvg_v1_train.json', 'hcstvg_v1_val.json', 'charades_sta_val.txt',
                 'refcoco_val.json', 'video_meta.json'):
        assert osp.isfile(osp.join(root, 'annotations', name))
    again = generate_synthetic_stvg(str(tmp_path), num_train=4, num_val=3, size=32,
                                    frame_range=(12, 16), fps=8.0, seed=3)
    for name in ('hcstvg_v1_train.json', 'charades_sta_val.txt'):
        with open(osp.join(root, 'annotations', name)) as a, \
                open(osp.join(str(tmp_path), 'annotations', name)) as b:
            assert a.read() == b.read()
    assert again['val_baseline'] == summary['val_baseline']


def test_round_trip_through_hcstvg_loader(synthetic, make_pipeline):
    root, _ = synthetic
    with open(osp.join(root, 'annotations', 'hcstvg_v1_train.json')) as f:
        raw = json.load(f)
    dataset = HCSTVGDataset(data_root=root, ann_file='annotations/hcstvg_v1_train.json',
                            data_prefix=dict(video='videos'),
                            pipeline=make_pipeline(num_frames=6), test_mode=True)
    assert len(dataset) == 4
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        entry = raw[info['video_id'] + '.mp4']
        start = entry['st_frame'] - 1
        assert info['gt_span_frames'] == [start, start + len(entry['bbox'])]
        assert info['fps'] == 8.0 and info['num_frames'] == entry['img_num']
        span = info['gt_span_frames'][1] - info['gt_span_frames'][0]
        assert 0.25 * info['num_frames'] - 1 <= span <= 0.7 * info['num_frames'] + 1
        boxes = np.asarray(entry['bbox'], dtype=np.float32)
        boxes[:, 2:] += boxes[:, :2]
        np.testing.assert_allclose(info['gt_tube_boxes'], boxes)
        reader = decord.VideoReader(info['video_path'])
        assert len(reader) == info['num_frames']
        # The target's colour sits at the centre of its box on a span frame.
        frame_ind = (info['gt_span_frames'][0] + info['gt_span_frames'][1]) // 2
        frame = reader[frame_ind].asnumpy()
        x1, y1, x2, y2 = info['gt_tube_boxes'][frame_ind - info['gt_span_frames'][0]]
        centre = frame[int((y1 + y2) / 2), int((x1 + x2) / 2)].astype(int)
        color = info['sentence'].split()[1]
        assert np.abs(centre - np.array(COLORS[color])).max() < 70, (centre, color)
        packed = dataset[index]
        assert packed['inputs'].shape == (6, 3, 32, 32)
        packed['data_samples'].check()


def test_tvg_and_rec_variants(synthetic):
    root, _ = synthetic
    tvg = CharadesSTADataset(data_root=root, ann_file='annotations/charades_sta_val.txt',
                             meta_file='annotations/video_meta.json',
                             data_prefix=dict(video='videos'))
    stvg = HCSTVGDataset(data_root=root, ann_file='annotations/hcstvg_v1_val.json',
                         data_prefix=dict(video='videos'))
    assert len(tvg) == 3 and tvg.num_dropped == 0
    for index in range(3):
        assert tvg.get_data_info(index)['gt_span_frames'] == \
            stvg.get_data_info(index)['gt_span_frames']
    rec = RefCOCODataset(data_root=root, ann_file='annotations/refcoco_val.json',
                         data_prefix=dict(video='images'))
    info = rec.get_data_info(0)
    assert info['task'] == 'rec' and info['sentence'].startswith('the ')
    assert info['gt_tube_boxes'].shape == (1, 4) and info['dataset_name'] == 'synthetic_rec'


def test_whole_video_centre_baseline_by_hand():
    # 10 frames, GT = frames 2..5 with exactly the centred half-size box.
    entry = dict(img_num=10, width=20, height=20, st_frame=3,
                 bbox=[[5, 5, 10, 10]] * 4)
    scores = whole_video_centre_baseline({'a.mp4': entry})
    assert scores['m_tIoU'] == pytest.approx(0.4)
    assert scores['m_vIoU'] == pytest.approx(0.4)
    # The box half overlapping: IoU 50 / 150 on each of the 4 span frames.
    entry['bbox'] = [[10, 5, 10, 10]] * 4
    scores = whole_video_centre_baseline({'a.mp4': entry})
    assert scores['m_vIoU'] == pytest.approx(4 * (50 / 150) / 10)


def test_progress_bar_goes_to_stderr_and_changes_no_file(tmp_path, capsys):
    kwargs = dict(num_train=2, num_val=0, size=32, frame_range=(8, 9), write_tvg=False,
                  write_rec=False)
    generate_synthetic_stvg(str(tmp_path / 'quiet'), **kwargs)
    assert capsys.readouterr().err == ''
    generate_synthetic_stvg(str(tmp_path / 'bar'), show_progress=True, **kwargs)
    captured = capsys.readouterr()
    assert '2/2, ' in captured.err and captured.out == ''
    for name in ('annotations/hcstvg_v1_train.json', 'videos/synth_train_00001.mp4'):
        assert (tmp_path / 'quiet' / name).read_bytes() == (tmp_path / 'bar' / name).read_bytes()
