"""Validation at the dataset boundary (issue 15, item 4): every wrong-typed
field a clear error naming the file, the video and the field, or a counted
skip; fps, captions, sentence budgets, encodings, bad-videos lists; dump
frame indices checked against the video."""
import numpy as np
import pytest

from mmstvg.datasets import (CharadesSTADataset, GroundingDataError,
                             HCSTVGDataset, VidSTGDataset, check_fps,
                             check_frame_inds, check_sentence)
from mmstvg.datasets.base_grounding_dataset import ShortVideoError
from mmstvg.evaluation import sample_from_data_info


def build(tmp_path, video_dir, helpers, entries, **kwargs):
    ann = helpers['write_json'](str(tmp_path / 'ann.json'), entries)
    return ann, lambda **kw: HCSTVGDataset(
        ann_file=ann, data_prefix=dict(video=str(video_dir)), **kwargs, **kw)


def error_and_skip(tmp_path, video_dir, helpers, bad, field):
    """The bad entry raises naming file, video and field; with 'skip' it is
    counted and the good one kept."""
    good = helpers['hcstvg_entry'](fps=10.0)
    ann, make = build(tmp_path, video_dir, helpers,
                      {'v1.mp4': good, 'v2.mp4': bad})
    with pytest.raises(GroundingDataError) as info:
        make()
    error = info.value
    assert (error.ann_file, error.video_id, error.field) == (ann, 'v2.mp4', field)
    assert ann in str(error) and 'v2.mp4' in str(error) and field in str(error)
    dataset = make(on_bad_sample='skip')
    assert len(dataset) == 1 and dict(dataset.skipped) == {field: 1}
    return error


@pytest.mark.parametrize('override, field, text', [
    (dict(img_num='forty'), 'img_num', "str 'forty'"),
    (dict(bbox='abc'), 'bbox', "str 'abc'"),
    (dict(bbox=[[1, 2, 'x', 4]]), 'bbox', 'list of 4-number boxes'),
    (dict(st_frame=None), 'st_frame', 'NoneType'),
    (dict(width=32.5), 'width', 'must be an integer'),
    (dict(fps=0), 'fps', 'must be positive, got 0.0'),
    (dict(fps=float('nan')), 'fps', 'must be finite'),
    (dict(fps='10'), 'fps', "str '10'"),
    (dict(caption=['a', 'list']), 'sentence', "list ['a', 'list']"),
    (dict(caption=7), 'sentence', 'int 7'),
    (dict(caption='   '), 'sentence', 'is empty'),
])
def test_wrong_typed_fields_are_named_and_skippable(tmp_path, video_dir,
                                                    helpers, override, field,
                                                    text):
    bad = helpers['hcstvg_entry'](fps=10.0)
    bad.update(override)
    error = error_and_skip(tmp_path, video_dir, helpers, bad, field)
    assert text in str(error)


def test_fps_zero_is_never_replaced():
    with pytest.raises(GroundingDataError, match='must be positive'):
        check_fps(0, where=dict(ann_file='a.json', video_id='v'))
    assert check_fps(25) == 25.0


def test_sentence_budget_error_or_logged_truncation(tmp_path, video_dir,
                                                   helpers):
    long = ' '.join(['word'] * 6000)
    entry = helpers['hcstvg_entry'](fps=10.0, caption=long)
    ann, make = build(tmp_path, video_dir, helpers, {'v1.mp4': entry})
    with pytest.raises(GroundingDataError) as info:
        make()
    assert info.value.field == 'sentence' and '6000 words' in str(info.value)
    dataset = make(long_sentence='truncate', max_sentence_words=50)
    assert dataset.get_data_info(0)['sentence'] == ' '.join(['word'] * 50)
    assert dataset.num_truncated == 1
    assert check_sentence('a b c', max_words=None) == ('a b c', False)


def test_non_utf8_annotation_file(tmp_path, video_dir):
    ann = tmp_path / 'latin1.json'
    ann.write_bytes('{"v1.mp4": {"caption": "caf\u00e9"}}'.encode('latin-1'))
    with pytest.raises(GroundingDataError) as info:
        HCSTVGDataset(ann_file=str(ann), data_prefix=dict(video=str(video_dir)))
    assert info.value.ann_file == str(ann) and info.value.field == 'encoding'
    assert 'not UTF-8' in str(info.value) and 'byte 0xe9' in str(info.value)
    text = tmp_path / 'sta.txt'
    text.write_bytes(b'v1 0.0 1.0##caf\xe9\n')
    with pytest.raises(GroundingDataError, match='line 1'):
        CharadesSTADataset(ann_file=str(text),
                           data_prefix=dict(video=str(video_dir)))


def test_invalid_json_names_the_file(tmp_path, video_dir):
    ann = tmp_path / 'broken.json'
    ann.write_text('{"v1.mp4": ')
    with pytest.raises(GroundingDataError) as info:
        HCSTVGDataset(ann_file=str(ann), data_prefix=dict(video=str(video_dir)))
    assert str(ann) in str(info.value) and 'line 1' in str(info.value)


def test_all_skipped_says_so_once(tmp_path, video_dir, helpers, monkeypatch):
    bad = {f'v{i}.mp4': helpers['hcstvg_entry'](img_num='x') for i in range(50)}
    _, make = build(tmp_path, video_dir, helpers, bad)
    from mmengine.logging import MMLogger
    logged = []
    monkeypatch.setattr(MMLogger.get_current_instance(), 'warning',
                        logged.append)
    with pytest.raises(GroundingDataError) as info:
        make(on_bad_sample='skip')
    message = str(info.value)
    assert 'every sample was skipped' in message
    assert "skipped 50 of 50 entries" in message and "'img_num': 50" in message
    # One summary line, not one line a sample.
    assert len(logged) == 1 and 'skipped 50 of 50' in logged[0]


def test_bad_videos_file_and_short_video_policy(tmp_path, video_dir, helpers):
    entries = {'v1.mp4': helpers['hcstvg_entry'](fps=10.0),
               'v2.mp4': helpers['hcstvg_entry'](fps=10.0)}
    bad = dict(videos={
        str(video_dir / 'v2.mp4'): dict(reason='short', decoded_frames=8,
                                        annotated_frames=20)})
    bad_file = helpers['write_json'](str(tmp_path / 'bad_videos.json'), bad)
    _, make = build(tmp_path, video_dir, helpers, entries,
                    bad_videos_file=bad_file)
    skipped = make()  # short_video='skip' is the default
    assert len(skipped) == 1 and dict(skipped.skipped) == {'bad_videos_file': 1}
    clipped = make(short_video='clip')
    info = clipped.get_data_info(1)
    # v2's span [5, 10) is cut to the 8 decoded frames.
    assert info['num_frames'] == 8 and info['gt_span_frames'] == [5, 8]
    assert len(info['gt_tube_boxes']) == 3 and clipped.num_clipped_short == 1
    with pytest.raises(ShortVideoError, match='decodes 8 frames'):
        make(short_video='error', on_bad_sample='skip')
    bad['videos'][str(video_dir / 'v1.mp4')] = dict(reason='unreadable',
                                                    detail='moov atom')
    helpers['write_json'](bad_file, bad)
    with pytest.raises(GroundingDataError, match='every sample was skipped'):
        make(on_bad_sample='skip')


def test_vidstg_raw_file_gets_a_hint(tmp_path, helpers):
    raw = helpers['write_json'](str(tmp_path / 'test_annotations.json'),
                                [dict(vid='1', captions=[])])
    with pytest.raises(GroundingDataError, match='tools/dataset_converters'):
        VidSTGDataset(ann_file=raw, data_prefix=dict(video=str(tmp_path)))


def test_dump_frame_indices_checked_against_the_video():
    info = dict(sample_id='v#0', num_frames=20, fps=10.0, task='stvg',
                gt_span_frames=[2, 8], gt_tube_frame_inds=np.arange(2, 8),
                gt_tube_boxes=np.ones((6, 4)))
    ok = sample_from_data_info(info, dict(frame_inds=[0, 5, 19]))
    assert ok['frame_inds'].tolist() == [0, 5, 19]
    for bad, text in (([-1, 3], 'outside the video of 20'),
                      ([3, 20], 'outside the video of 20'),
                      ([5, 3], 'ascending'), ([1.5], 'integers')):
        with pytest.raises(GroundingDataError, match=text) as error:
            sample_from_data_info(info, dict(frame_inds=bad), 'dump.json')
        assert error.value.field == 'frame_inds'
        assert 'dump.json' in str(error.value) and 'v#0' in str(error.value)
    assert check_frame_inds([0, 0, 1], 2).tolist() == [0, 0, 1]
