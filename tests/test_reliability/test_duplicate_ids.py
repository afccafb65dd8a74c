"""Repeated ids: an entry silently dropped, or scored with another's prediction.

- A key repeated in one JSON object (two HC-STVG entries keyed by the same
  video file, a video listed twice in a TVG file's ``videos``) was read by
  ``json`` as the last one alone: the other entry vanished without a word.
  :func:`mmstvg.datasets.validation.load_json` now refuses a key repeated
  with another value, naming the file and the key (an exact repeat loses
  nothing and is read).
- Two TVG annotations with the same ``id`` became two samples with one
  ``sample_id``; predictions are matched by ``sample_id`` (the metric's dump,
  ``eval_predictions.py``), so both were scored with the first one's. The
  second is now bad input naming the file, the video and the field ``id``
  (with ``on_bad_sample='skip'``: skipped and counted).
"""
import json

import pytest

from mmstvg.datasets import HCSTVGDataset, TACoSDataset
from mmstvg.datasets.validation import GroundingDataError

ENTRY = dict(st_frame=3, bbox=[[2, 2, 8, 8]] * 4, img_num=20, caption='a man walks.',
             width=32, height=24, fps=5.0)
VIDEO = dict(video='v.mp4', num_frames=100, fps=10.0, height=24, width=32)


def test_a_repeated_key_with_another_value_is_an_error(tmp_path):
    ann = tmp_path / 'hcstvg_v1_test.json'
    ann.write_text('{"1_a.mp4": %s, "1_a.mp4": %s, "2_b.mp4": %s}' % (
        json.dumps(ENTRY), json.dumps(dict(ENTRY, caption='a woman sits.')),
        json.dumps(ENTRY)))
    with pytest.raises(GroundingDataError, match='appears more than once') as info:
        HCSTVGDataset(ann_file=str(ann), check_video_exists=False)
    assert info.value.field == '1_a.mp4' and str(ann) in str(info.value)


def test_an_exact_repeat_is_read(tmp_path):
    ann = tmp_path / 'hcstvg_v1_test.json'
    ann.write_text('{"1_a.mp4": %s, "1_a.mp4": %s}' % (json.dumps(ENTRY),
                                                        json.dumps(ENTRY)))
    assert len(HCSTVGDataset(ann_file=str(ann), check_video_exists=False)) == 1


def test_a_video_listed_twice_in_a_tvg_file_is_an_error(tmp_path):
    ann = tmp_path / 'tacos_test.json'
    annotation = dict(id='v#0', video_id='v', sentence='a person cuts.',
                      spans_seconds=[[1.0, 3.0]])
    ann.write_text('{"videos": {"v": %s, "v": %s}, "annotations": [%s]}' % (
        json.dumps(VIDEO), json.dumps(dict(VIDEO, fps=25.0)), json.dumps(annotation)))
    with pytest.raises(GroundingDataError, match="field 'v'"):
        TACoSDataset(ann_file=str(ann), check_video_exists=False)


def tvg_file(tmp_path):
    ann = tmp_path / 'tacos_test.json'
    ann.write_text(json.dumps(dict(dataset='tacos', videos=dict(v=VIDEO), annotations=[
        dict(id='v#0', video_id='v', sentence='a person cuts.', spans_seconds=[[1.0, 3.0]]),
        dict(id='v#0', video_id='v', sentence='a person washes.', spans_seconds=[[5.0, 9.0]]),
        dict(id='v#2', video_id='v', sentence='a person eats.', spans_seconds=[[2.0, 4.0]]),
    ])))
    return str(ann)


def test_a_repeated_sample_id_is_bad_input(tmp_path):
    ann = tvg_file(tmp_path)
    with pytest.raises(GroundingDataError, match="sample_id 'v#0' is already used") as info:
        TACoSDataset(ann_file=ann, check_video_exists=False)
    assert info.value.field == 'id' and ann in str(info.value)
    dataset = TACoSDataset(ann_file=ann, check_video_exists=False, on_bad_sample='skip')
    assert [dataset.get_data_info(i)['sentence'] for i in range(len(dataset))] == [
        'a person cuts.', 'a person eats.']
    assert dataset.skipped == {'id': 1}
