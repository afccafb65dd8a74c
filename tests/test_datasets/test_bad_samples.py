"""BadSamplePolicy and build_data_info on their own, without a dataset."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.logging import MMLogger

from mmstvg.datasets.bad_samples import (BadSamplePolicy, ListedBadVideo,
                                         ShortVideoError, VideoPathSeen)
from mmstvg.datasets.validation import (DataInfoChecks, GroundingDataError,
                                        Target, VideoMeta, build_data_info)


def _error(field='bbox', video_id='v1', reason='box 0 has no area'):
    return GroundingDataError(reason, ann_file='ann.json', video_id=video_id, field=field)


def _make_error(message, video_id, field):
    return GroundingDataError(message, ann_file='ann.json', video_id=str(video_id),
                              field=field)


def test_the_policy_raises_or_counts_per_field_and_logs_each_field_once(monkeypatch):
    logged = []
    monkeypatch.setattr(MMLogger, 'get_current_instance',
                        lambda: SimpleNamespace(warning=logged.append))
    with pytest.raises(GroundingDataError, match='has no area'):
        BadSamplePolicy('error').handle(_error())
    policy = BadSamplePolicy('skip')
    for video_id in ('v1', 'v2'):
        policy.handle(_error(video_id=video_id), log_first=True)
    assert len(logged) == 1 and logged[0].startswith('skipping bad sample: ann.json')
    policy.handle(_error(field='video', video_id='v3',
                         reason='video file v3.mp4 does not exist'))
    assert policy.num_skipped == 3 and policy.skipped == {'bbox': 2, 'video': 1}
    assert policy.skip_examples == {'bbox': 'v1: box 0 has no area',
                                    'video': 'v3: video file v3.mp4 does not exist'}
    assert policy.summary('HCSTVGDataset (ann.json)', 10) == (
        "HCSTVGDataset (ann.json): skipped 3 of 10 entries as bad samples, by field: "
        "{'bbox': 2, 'video': 1} (bbox: e.g. v1: box 0 has no area; video: e.g. v3: "
        'video file v3.mp4 does not exist)')


def test_the_policy_refuses_unknown_settings():
    with pytest.raises(ValueError, match='on_bad_sample must be one of'):
        BadSamplePolicy('ignore')
    with pytest.raises(ValueError, match='short_video must be one of'):
        BadSamplePolicy(short_video='pad')


def test_a_missing_video_error_scans_the_other_entries_for_their_paths():
    policy = BadSamplePolicy()
    policy.record_missing('videos/a.mp4')

    def parse(raw):  # a dataset's parse_data_info, up to its video path
        assert policy.scanning
        if raw != 'present.mp4':
            policy.record_missing(f'videos/{raw}')
        raise VideoPathSeen(raw)

    error = _make_error('video file videos/a.mp4 does not exist', 'a', 'video')
    error.missing_video = 'videos/a.mp4'
    missing = policy.missing_video_error(error, ['b.mp4', 'present.mp4', 'b.mp4'],
                                         parse, _make_error)
    assert not policy.scanning and missing.missing_video == 'videos/a.mp4'
    assert ('1 other video of this split is missing too (2 videos, 3 samples in all): '
            'videos/b.mp4;') in str(missing)


def test_listed_videos_are_skipped_clipped_or_refused(tmp_path):
    listed = tmp_path / 'bad_videos.json'
    listed.write_text(json.dumps({'videos': {
        'videos/broken.mp4': {'reason': 'unreadable', 'detail': 'moov atom not found'},
        'short.mp4': {'reason': 'short', 'decoded_frames': 6}}}))
    info = dict(video_id='s', video_path='/data/videos/short.mp4', num_frames=10, fps=2.0,
                gt_span_frames=[2, 8], gt_span_seconds=(1.0, 4.0), clip_span_frames=[0, 10],
                gt_tube_frame_inds=np.arange(2, 8),
                gt_tube_boxes=np.ones((6, 4), np.float32))
    policy = BadSamplePolicy('error', 'bad_videos.json', short_video='clip')
    policy.load_bad_videos(str(listed))
    clipped = policy.apply_bad_videos(dict(info), _make_error, 'ann.json')
    assert clipped['num_frames'] == 6 and clipped['gt_span_frames'] == [2, 6]
    assert clipped['gt_span_seconds'] == (1.0, 3.0) and clipped['clip_span_frames'] == [0, 6]
    assert clipped['gt_tube_frame_inds'].tolist() == [2, 3, 4, 5]
    assert policy.num_clipped_short == 1
    with pytest.raises(ListedBadVideo, match='unreadable'):
        policy.apply_bad_videos(dict(info, video_path='videos/broken.mp4'), _make_error,
                                'ann.json')
    with pytest.raises(ListedBadVideo, match='does not exist'):
        policy.raise_if_listed('other/broken.mp4', 'b', 'ann.json')
    policy.raise_if_listed('videos/fine.mp4', 'f', 'ann.json')
    policy.short_video = 'error'
    with pytest.raises(ShortVideoError, match='decodes 6 frames'):
        policy.apply_bad_videos(dict(info), _make_error, 'ann.json')


def test_build_data_info_fills_the_contract_and_counts_truncations():
    checks = DataInfoChecks(ann_file='ann.json', dataset_name='toy', task='stvg',
                            max_sentence_words=3, long_sentence='truncate')
    info = build_data_info(
        checks, sample_id='v#0', video_id='v', video_path='videos/v.mp4',
        sentence=' the man in red walks ', video=VideoMeta(10, 5, 48, 64),
        target=Target((2, 4), [2, 3], [[0, 0, 8, 8], [1, 1, 9, 9]]), qtype='declarative')
    assert checks.num_truncated == 1
    assert info['sentence'] == 'the man in' and info['qtype'] == 'declarative'
    assert (info['dataset_name'], info['task'], info['duration']) == ('toy', 'stvg', 2.0)
    assert info['gt_span_frames'] == [2, 4] and info['gt_span_seconds'] == (0.4, 0.8)
    assert info['clip_span_frames'] == [0, 10]
    assert info['gt_tube_frame_inds'].dtype == np.int64
    assert info['gt_tube_boxes'].dtype == np.float32 and info['gt_tube_boxes'].shape == (2, 4)
    # A task without boxes leaves the tube out: empty, typed arrays.
    tvg = build_data_info(checks, sample_id='v#1', video_id='v', video_path='v.mp4',
                          sentence='a door opens', video=VideoMeta(10, 5.0, 48, 64),
                          target=Target((0, 10), span_seconds=(0.0, 1.9)))
    assert tvg['gt_tube_boxes'].shape == (0, 4) and tvg['gt_tube_frame_inds'].shape == (0,)
    assert tvg['gt_span_seconds'] == (0.0, 1.9) and tvg['qtype'] == ''


@pytest.mark.parametrize('target, field, message', [
    (Target((4, 4)), 'span', r'span \[4, 4\) is empty'),
    (Target((0, 2), [0], [[0, 0, 1, 1], [0, 0, 1, 1]]), 'bbox', '2 boxes for 1 frames'),
    (Target((0, 2), [1, 0], [[0, 0, 1, 1]] * 2), 'bbox', 'not strictly increasing'),
    (Target((0, 2), [0], [[5, 5, 5, 9]], box_field='trajectories'), 'trajectories',
     'has no area'),
    (Target((0, 2), [0], [[0, 0, 99, 9]]), 'bbox', 'outside the 64x48 frame'),
    (Target((0, 2), clip_span_frames=(3, 12)), 'clip_span_frames', 'clip'),
])
def test_build_data_info_names_the_file_the_source_id_and_the_field(target, field, message):
    checks = DataInfoChecks(ann_file='ann.json', box_tolerance=2.0)
    with pytest.raises(GroundingDataError, match=message) as error:
        build_data_info(checks, sample_id='v#0', video_id='v', video_path='v.mp4',
                        sentence='x', video=VideoMeta(10, 5.0, 48, 64), target=target,
                        source_id='v.mp4')
    assert (error.value.ann_file, error.value.video_id, error.value.field) == (
        'ann.json', 'v.mp4', field)
