"""LlavaVideoSFTDataset: reads the LLaVA-Video json, packs the answers, names
the file, the entry id and the field of a bad entry."""
import copy
import json
import os.path as osp

import pytest

from mmstvg.datasets import ConversationDataError, LlavaVideoSFTDataset
from mmstvg.datasets.synthetic_language import describe_scene, scene_questions
from mmstvg.registry import DATASETS

PIPELINE = [
    dict(type='GroundingDecordInit'),
    dict(type='UniformSampleFrames', num_frames=4, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='PackGroundingInputs'),
]


def build(root, ann_file='annotations/llava_video_train.json', **kwargs):
    return DATASETS.build(dict(type='LlavaVideoSFTDataset', data_root=root, ann_file=ann_file,
                               data_prefix=dict(video='videos'), **kwargs))


def test_loads_the_synthetic_file(small_synthetic):
    dataset = build(small_synthetic, pipeline=PIPELINE, test_mode=True)
    with open(osp.join(small_synthetic, 'annotations', 'scenes_train.json')) as f:
        scenes = json.load(f)
    assert len(dataset) == 2 * len(scenes) == 6
    for index, scene in enumerate(scenes):
        caption = dataset.get_data_info(2 * index)
        assert caption['sample_id'] == scene['video_id'] + '_cap'
        assert caption['task'] == 'caption' and caption['num_turns'] == 1
        assert caption['video_id'] == scene['video_id']
        assert caption['video_path'] == osp.join(small_synthetic, 'videos', scene['video'])
        assert caption['answers'] == [describe_scene(scene)]
        assert '<image>' not in caption['questions'][0]
        assert caption['sentence'] == caption['questions'][0]
        qa = dataset.get_data_info(2 * index + 1)
        assert qa['task'] == 'open_qa' and qa['data_source'] == 'synthetic_stvg_oe_qa'
        assert list(zip(qa['questions'], qa['answers'])) == scene_questions(scene)
    packed = dataset[1]
    meta = packed['data_samples'].metainfo
    assert packed['inputs'].shape == (4, 3, 32, 32)
    assert meta['task'] == 'open_qa' and meta['fps'] == 8.0
    assert meta['answers'] == dataset.get_data_info(1)['answers']
    assert meta['questions'][0].startswith('How many shapes')
    assert 'gt_span_frames' not in packed['data_samples']


def test_task_map(small_synthetic):
    dataset = build(small_synthetic, task_map={}, default_task='chat')
    assert {dataset.get_data_info(i)['task'] for i in range(len(dataset))} == {'chat'}


def good_entry():
    return dict(id='e1', video='synth_train_00000.mp4', conversations=[
        {'from': 'human', 'value': '<image>\nWhat moves?'},
        {'from': 'gpt', 'value': 'The red circle.'},
        {'from': 'human', 'value': 'When?'},
        {'from': 'gpt', 'value': 'From 1.2s to 3.5s.'}], data_source='x')


def broken(change):
    entry = good_entry()
    change(entry)
    return entry


BAD_ENTRIES = [
    (lambda e: e.pop('id'), "entry '#1'", 'id'),
    (lambda e: e.update(id=['e1']), "entry '#1'", 'id'),
    (lambda e: e.update(id='e0'), "entry 'e0'", 'id'),  # duplicate
    (lambda e: e.pop('video'), "entry 'e1'", 'video'),
    (lambda e: e.update(image=e.pop('video')), "entry 'e1'", 'video'),
    (lambda e: e.update(video='missing.mp4'), "entry 'e1'", 'video'),
    (lambda e: e.pop('conversations'), "entry 'e1'", 'conversations'),
    (lambda e: e.update(conversations='hello'), "entry 'e1'", 'conversations'),
    (lambda e: e['conversations'].pop(), "entry 'e1'", 'conversations'),
    (lambda e: e['conversations'][1].update({'from': 'human'}), "entry 'e1'",
     'conversations[1].from'),
    (lambda e: e['conversations'].__setitem__(0, {'role': 'user', 'content': '<image>\nx'}),
     "entry 'e1'", 'conversations[0].from'),
    (lambda e: e['conversations'][3].update(value=''), "entry 'e1'",
     'conversations[3].value'),
    (lambda e: e['conversations'][3].update(value=3.5), "entry 'e1'",
     'conversations[3].value'),
    (lambda e: e['conversations'][0].update(value='What moves?'), "entry 'e1'",
     'conversations[0].value'),
    (lambda e: e['conversations'][0].update(value='<image>'), "entry 'e1'",
     'conversations[0].value'),
    (lambda e: e['conversations'][2].update(value='<image>\nWhen?'), "entry 'e1'",
     'conversations[2].value'),
    (lambda e: e.update(data_source=3), "entry 'e1'", 'data_source'),
]


@pytest.mark.parametrize('change, entry_id, field', BAD_ENTRIES)
def test_bad_entry_names_file_id_and_field(small_synthetic, tmp_path, change, entry_id,
                                           field):
    first = dict(good_entry(), id='e0')
    path = str(tmp_path / 'bad.json')
    with open(path, 'w') as f:
        json.dump([first, broken(change)], f)
    with pytest.raises(ConversationDataError) as info:
        build(small_synthetic, ann_file=path)
    message = str(info.value)
    assert message.startswith(f"{path}: {entry_id}: field '{field}': "), message
    assert info.value.field == field
    # Skipped and counted instead with on_bad_sample='skip'.
    dataset = build(small_synthetic, ann_file=path, on_bad_sample='skip')
    assert len(dataset) == 1 and dataset.skipped == {field: 1}


def test_top_level_must_be_a_list(small_synthetic, tmp_path):
    path = str(tmp_path / 'dict.json')
    with open(path, 'w') as f:
        json.dump({'e1': good_entry()}, f)
    with pytest.raises(ConversationDataError, match="<top level>'.*json list"):
        build(small_synthetic, ann_file=path)


def test_image_token_anywhere_in_the_first_turn(small_synthetic, tmp_path):
    entry = good_entry()
    entry['conversations'][0]['value'] = 'What moves? <image>'
    path = str(tmp_path / 'late_token.json')
    with open(path, 'w') as f:
        json.dump([entry, copy.deepcopy(dict(entry, id=7))], f)
    dataset = build(small_synthetic, ann_file=path)
    assert dataset.get_data_info(0)['questions'] == ['What moves?', 'When?']
    assert dataset.get_data_info(1)['sample_id'] == '7'
    assert isinstance(dataset, LlavaVideoSFTDataset)
