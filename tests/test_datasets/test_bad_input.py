"""Each kind of bad input: a clear error naming the annotation file, the video
and the field - or, with ``on_bad_sample='skip'``, a counted skip."""
import numpy as np
import pytest

from mmstvg.datasets import GroundingDataError, HCSTVGDataset, VidSTGDataset


def hcstvg(tmp_path, video_dir, helpers, entries, **kwargs):
    ann = helpers['write_json'](str(tmp_path / 'bad.json'), entries)
    return ann, lambda **kw: HCSTVGDataset(
        ann_file=ann, data_prefix=dict(video=str(video_dir)), **kwargs, **kw)


def assert_names(error, ann, video_id, field):
    assert error.ann_file == ann and error.video_id == video_id
    assert error.field == field
    message = str(error)
    assert ann in message and video_id in message and field in message


def check_error_and_skip(tmp_path, video_dir, helpers, bad_entry, field,
                         bad_name='v2.mp4'):
    good = helpers['hcstvg_entry'](fps=10.0)
    ann, build = hcstvg(tmp_path, video_dir, helpers,
                        {'v1.mp4': good, bad_name: bad_entry})
    with pytest.raises(GroundingDataError) as info:
        build()
    assert_names(info.value, ann, bad_name, field)
    dataset = build(on_bad_sample='skip')
    assert len(dataset) == 1 and dataset.num_skipped == 1
    assert dataset.skipped[field] == 1
    assert dataset.get_data_info(0)['video_id'] == 'v1'
    return info.value


def test_missing_video(tmp_path, video_dir, helpers):
    error = check_error_and_skip(tmp_path, video_dir, helpers,
                                 helpers['hcstvg_entry'](), 'video', 'nowhere.mp4')
    assert 'nowhere.mp4 does not exist' in str(error)


def test_missing_key(tmp_path, video_dir, helpers):
    entry = helpers['hcstvg_entry']()
    del entry['img_num']
    error = check_error_and_skip(tmp_path, video_dir, helpers, entry, 'img_num')
    assert 'missing key' in str(error)


def test_box_count_does_not_match_span(tmp_path, video_dir, helpers):
    # ed_frame 12 (1-based, inclusive) from st_frame 6 is 7 frames, 5 boxes given.
    entry = helpers['hcstvg_entry'](ed_frame=12)
    error = check_error_and_skip(tmp_path, video_dir, helpers, entry, 'bbox')
    assert '5 boxes' in str(error)


def test_box_count_vidstg(tmp_path, helpers):
    (tmp_path / 'video').mkdir()
    helpers['write_video'](str(tmp_path / 'video' / '123.mp4'))
    track = {str(f): dict(bbox=[1, 1, 5, 5]) for f in (6, 8)}  # frame 7 missing
    ann = helpers['write_json'](str(tmp_path / 'vidstg.json'), dict(
        videos=[dict(original_video_id='123', frame_count=20, fps=10.0, width=32,
                     height=32, start_frame=0, end_frame=20, tube_start_frame=6,
                     tube_end_frame=9, video_path='123.mp4', target_id=1,
                     caption='a cat', video_id=0, qtype='declarative')],
        trajectories={'123': {'1': track}}))
    with pytest.raises(GroundingDataError) as info:
        VidSTGDataset(ann_file=ann, data_prefix=dict(video=str(tmp_path / 'video')))
    assert_names(info.value, ann, '123', 'trajectories')
    assert 'first missing frame 7' in str(info.value)


def test_span_outside_video(tmp_path, video_dir, helpers):
    # 5 boxes from 1-based frame 18 of a 20-frame video: frames 17..21.
    entry = helpers['hcstvg_entry'](st_frame=18)
    error = check_error_and_skip(tmp_path, video_dir, helpers, entry, 'st_frame/bbox')
    assert '[17, 22)' in str(error)


def test_boxes_outside_frame_with_a_tolerance(tmp_path, video_dir, helpers):
    entry = helpers['hcstvg_entry']()
    entry['bbox'][2] = [30, 0, 10, 10]  # x2 = 40 in a 32-px wide frame
    good = helpers['hcstvg_entry'](fps=10.0)
    ann, build = hcstvg(tmp_path, video_dir, helpers,
                        {'v1.mp4': good, 'v2.mp4': entry})
    # By default a box may leave the frame: it is kept as written.
    assert len(build()) == 2
    with pytest.raises(GroundingDataError) as info:
        build(box_tolerance=1.0)
    assert_names(info.value, ann, 'v2.mp4', 'bbox')
    assert 'box 2' in str(info.value) and 'outside' in str(info.value)
    assert len(build(box_tolerance=1.0, on_bad_sample='skip')) == 1


def test_metric_sees_provider_boxes_training_targets_are_clipped(
        tmp_path, video_dir, helpers, make_pipeline):
    """The dataset keeps the provider's box (x1 = -0.5, x2 = 32.5 in a 32-px
    frame); the training target is clipped to the frame, the test-time
    ``gt_boxes`` (what the metric scores) are not."""
    entry = helpers['hcstvg_entry'](fps=10.0)
    entry['bbox'][0] = [-0.5, 0, 33, 10]  # frame 5
    _, build = hcstvg(tmp_path, video_dir, helpers, {'v1.mp4': entry})
    np.testing.assert_allclose(build().get_data_info(0)['gt_tube_boxes'][0],
                               [-0.5, 0, 32.5, 10])
    pipeline = [dict(type='GroundingDecordInit'),
                dict(type='UniformSampleFrames', num_frames=20, test_mode=True),
                dict(type='GroundingDecordDecode'),
                dict(type='LoadGroundingAnnotations'),
                dict(type='PackGroundingInputs')]
    test_sample = build(pipeline=pipeline, test_mode=True)[0]['data_samples']
    train_sample = build(pipeline=pipeline)[0]['data_samples']
    np.testing.assert_allclose(test_sample.gt_boxes[5].numpy(),
                               [-0.5, 0, 32.5, 10])
    np.testing.assert_allclose(train_sample.gt_boxes[5].numpy(), [0, 0, 32, 10])
    assert bool(train_sample.gt_box_mask[5]) and int(
        train_sample.gt_box_mask.sum()) == 5


def test_unreadable_video(tmp_path, video_dir, helpers, make_pipeline):
    (video_dir / 'v2.mp4').write_bytes(b'not a video at all' * 10)
    good = helpers['hcstvg_entry'](fps=10.0)
    ann, build = hcstvg(tmp_path, video_dir, helpers, {'v1.mp4': good, 'v2.mp4': good},
                        pipeline=make_pipeline())
    with pytest.raises(GroundingDataError) as info:
        build(test_mode=True)[1]
    assert_names(info.value, ann, 'v2', 'video')
    assert str(video_dir / 'v2.mp4') in str(info.value)
    # Training time with skip: counted, logged and another sample is drawn.
    dataset = build(on_bad_sample='skip')
    np.random.seed(0)
    packed = dataset[1]
    assert packed['data_samples'].metainfo['video_id'] == 'v1'
    assert dataset.num_skipped >= 1 and dataset.skipped['video'] >= 1


def test_truncated_video(tmp_path, video_dir, helpers, make_pipeline):
    # A cut file: OpenCV's mp4 muxer writes its index last.
    data = (video_dir / 'v2.mp4').read_bytes()
    (video_dir / 'v2.mp4').write_bytes(data[:len(data) // 2])
    # A video with fewer frames than the annotation says.
    helpers['write_video'](str(video_dir / 'short.mp4'), num_frames=8)
    good = helpers['hcstvg_entry'](fps=10.0)
    ann, build = hcstvg(tmp_path, video_dir, helpers,
                        {'v2.mp4': good, 'short.mp4': good},
                        pipeline=make_pipeline(), test_mode=True)
    dataset = build()
    with pytest.raises(GroundingDataError) as info:
        dataset[0]
    assert_names(info.value, ann, 'v2', 'video')
    with pytest.raises(GroundingDataError) as info:
        dataset[1]
    assert_names(info.value, ann, 'short', 'video')
    assert 'truncated: 8 decodable frames, the annotation says 20' in str(info.value)


def test_wrong_frame_size(tmp_path, video_dir, helpers, make_pipeline):
    entry = helpers['hcstvg_entry'](fps=10.0, width=48)
    ann, build = hcstvg(tmp_path, video_dir, helpers, {'v1.mp4': entry},
                        pipeline=make_pipeline(), test_mode=True)
    with pytest.raises(GroundingDataError) as info:
        build()[0]
    assert_names(info.value, ann, 'v1', 'height/width')


def test_bad_policy_name(hcstvg_file, video_dir):
    with pytest.raises(ValueError, match='on_bad_sample'):
        HCSTVGDataset(ann_file=hcstvg_file, on_bad_sample='ignore')


def test_error_survives_a_dataloader_worker(tmp_path, video_dir, helpers, make_pipeline):
    from torch.utils.data import DataLoader
    (video_dir / 'v2.mp4').write_bytes(b'garbage')
    ann, build = hcstvg(tmp_path, video_dir, helpers,
                        {'v2.mp4': helpers['hcstvg_entry'](fps=10.0)},
                        pipeline=make_pipeline(), test_mode=True)
    loader = DataLoader(build(), batch_size=1, num_workers=1,
                        collate_fn=lambda batch: batch)
    with pytest.raises(GroundingDataError) as info:
        next(iter(loader))
    message = str(info.value)
    assert message.startswith('Caught GroundingDataError')
    assert f"{ann}: video 'v2': field 'video'" in message
