"""The tasks' documents, read from tiny files in each task's format
(``annotation_fixtures.py``): ground truth, frame sampling, prompt, bad input."""
import json

import datasets
import numpy as np
import pytest

from mmstvg.datasets.validation import GroundingDataError
from mmstvg.lmms_eval_tasks import TASK_NAMES, TASKS_DIR
from mmstvg.lmms_eval_tasks.answer_format import grounding_prompt
from mmstvg.lmms_eval_tasks.docs import (decode_data_info, docs_from_spec, docs_from_specs,
                                         encode_data_info)
from tests.test_lmms_eval_tasks.annotation_fixtures import (write_charades, write_hcstvg_v1,
                                                            write_hcstvg_v2, write_vidstg)


def test_hcstvg_v1_docs_frames_and_prompt(tmp_path):
    docs = docs_from_spec(write_hcstvg_v1(tmp_path))
    assert [d['sample_id'] for d in docs] == ['a.mp4#0', 'b.mp4#0']
    a = docs[0]
    # st_frame 3 (1-based) with 4 boxes: frames [2, 6); xywh -> xyxy.
    assert a['gt_span_frames'] == [2, 6] and a['gt_span_seconds'] == [1.0, 3.0]
    assert a['gt_tube_frame_inds'] == [2, 3, 4, 5]
    assert a['gt_tube_boxes'] == [[10.0, 10.0, 30.0, 30.0]] * 4
    # 5 segment centres of 10 frames: 2k + 1; at 2 fps.
    assert a['frame_inds'] == [1, 3, 5, 7, 9]
    assert a['frame_times'] == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert (a['width'], a['height'], a['duration']) == (100, 50, 5.0)
    prompt = grounding_prompt(a, 'PRE ', ' POST')
    assert prompt.startswith('PRE The video lasts 5.00 seconds and its frames are 100x50')
    assert '"The man walks to the door."' in prompt
    assert '0.50, 1.50, 2.50, 3.50, 4.50.' in prompt and prompt.endswith(' POST')
    assert '"boxes"' in prompt


def test_hcstvg_v2_reads_english_and_img_size(tmp_path):
    (doc, ) = docs_from_spec(write_hcstvg_v2(tmp_path))
    assert doc['sentence'] == 'The girl turns left.'
    assert (doc['width'], doc['height']) == (80, 60)
    assert doc['gt_span_frames'] == [1, 4] and doc['frame_inds'] == [1, 3, 5, 7]


@pytest.mark.parametrize('qtype, sample_id', [('declarative', 'vid0#0'),
                                              ('interrogative', 'vid0#1')])
def test_vidstg_one_sentence_type_sampled_in_its_segment(tmp_path, qtype, sample_id):
    (doc, ) = docs_from_spec(write_vidstg(tmp_path, qtype))
    assert doc['sample_id'] == sample_id and doc['qtype'] == qtype
    assert doc['gt_span_frames'] == [4, 8]
    # 5 centres of the used segment [2, 12): 2 + floor((k + 0.5) * 2).
    assert doc['frame_inds'] == [3, 5, 7, 9, 11]
    assert doc['gt_tube_boxes'][0] == [4.0, 2.0, 14.0, 12.0]


def test_charades_docs_and_prompt(tmp_path):
    (doc, ) = docs_from_spec(write_charades(tmp_path, ['V1 2.5 7.0##a person opens a door.']))
    assert doc['task'] == 'tvg' and doc['gt_span_seconds'] == [2.5, 7.0]
    assert doc['duration'] == 30.0
    prompt = grounding_prompt(doc)
    assert '{"span": [start, end]}' in prompt and 'boxes' not in prompt


def test_docs_from_the_loaded_spec_rows_and_data_info_round_trip(tmp_path):
    spec = write_hcstvg_v1(tmp_path)
    path = tmp_path / 'spec.jsonl'
    path.write_text(json.dumps(spec) + '\n')
    rows = datasets.load_dataset('json', data_files={'test': str(path)},
                                 cache_dir=str(tmp_path / 'cache'))['test']
    docs = docs_from_specs(rows)
    assert len(docs) == 2 and docs[0]['frame_inds'] == [1, 3, 5, 7, 9]
    info = decode_data_info(docs[0]['mmstvg_data_info'])
    assert info['gt_tube_boxes'].dtype == np.float32
    assert info['gt_tube_frame_inds'].dtype == np.int64
    assert isinstance(info['gt_span_seconds'], tuple)
    again = decode_data_info(encode_data_info(info))
    assert np.array_equal(again['gt_tube_boxes'], info['gt_tube_boxes'])
    assert again['gt_span_frames'] == info['gt_span_frames']


def test_bad_input_names_the_file_and_the_field(tmp_path):
    spec = write_hcstvg_v1(tmp_path)
    with open(tmp_path / 'hcstvg_v1.json') as f:
        raw = json.load(f)
    raw['b.mp4']['bbox'] = 'abc'
    (tmp_path / 'hcstvg_v1.json').write_text(json.dumps(raw))
    with pytest.raises(GroundingDataError, match=r'hcstvg_v1\.json.*b\.mp4.*bbox'):
        docs_from_spec(spec)
    with pytest.raises(ValueError, match=r'spec X: unknown field\(s\) \[\'frames\'\]'):
        docs_from_spec(dict(spec, frames=3), 'X')
    with pytest.raises(ValueError, match='spec X: field "num_frames" must be an integer'):
        docs_from_spec(dict(spec, num_frames='8'), 'X')
    vidstg = write_vidstg(tmp_path / 'v', 'exclamative')
    with pytest.raises(ValueError, match=r"no sample of vidstg\.json has qtype 'exclamative' "
                       r"\(its qtypes: \['declarative', 'interrogative'\]\)"):
        docs_from_spec(vidstg, 'X')


def test_the_shipped_tasks_are_found_and_name_mmstvg_layout_paths():
    from lmms_eval.tasks import TaskManager
    manager = TaskManager('WARNING', include_path=TASKS_DIR)
    assert set(TASK_NAMES) <= set(manager.all_tasks)
    with open(f'{TASKS_DIR}/hcstvg_v1.data.jsonl') as f:
        spec = json.loads(f.read())
    # The paths of configs/_base_/datasets/hcstvg_v1.py.
    assert spec['dataset']['data_root'] == 'data/hcstvg_v1/'
    assert spec['dataset']['ann_file'] == 'annos/hcstvg_v1/test.json'


def test_a_shipped_task_reads_the_mmstvg_layout_from_the_working_directory(
        tmp_path, monkeypatch):
    """``hcstvg_v1`` as shipped, run from a folder that holds ``data/hcstvg_v1/``
    laid out as ``configs/_base_/datasets/hcstvg_v1.py`` reads it."""
    from lmms_eval.tasks import TaskManager, get_task_dict
    root = tmp_path / 'data' / 'hcstvg_v1'
    spec = write_hcstvg_v1(root / 'annos' / 'hcstvg_v1')
    (root / 'annos' / 'hcstvg_v1' / 'hcstvg_v1.json').rename(
        root / 'annos' / 'hcstvg_v1' / 'test.json')
    (root / 'v1_video').mkdir()
    for name in ('a.mp4', 'b.mp4'):
        (root / 'v1_video' / name).write_bytes(b'')
    monkeypatch.chdir(tmp_path)
    task = get_task_dict(['hcstvg_v1'], TaskManager('WARNING', include_path=TASKS_DIR),
                         'simple')['hcstvg_v1']
    docs = task.test_docs()
    assert [d['sample_id'] for d in docs] == ['a.mp4#0', 'b.mp4#0']
    assert docs[0]['video_path'] == str(root / 'v1_video' / 'a.mp4')
    # The shipped spec asks 20 frames of the 10-frame video (frames repeat).
    assert len(docs[0]['frame_inds']) == 20 and spec['num_frames'] == 5
