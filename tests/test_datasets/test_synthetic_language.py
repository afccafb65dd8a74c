"""Captions and QA of the synthetic videos: words checked by hand against a
scene, times against frame / fps, the file against LLaVA-Video's format."""
import json
import os.path as osp
import re
import zlib

import pytest

from mmstvg.datasets.synthetic_language import (CAPTION_PROMPTS, CAPTION_SOURCE,
                                                QA_SOURCE, describe_scene,
                                                frame_time, grid_position,
                                                llava_video_entries,
                                                scene_questions, zero_shot_entries)


def make_scene(num_frames=40, fps=8.0):
    """A 32x32 scene: a blue square still at the centre for the whole video;
    a red circle that appears at frame 10, moves left along y = 5 from x = 27
    (top right) to x = 5 (top left) over frames 10..27, and is gone from
    frame 28 on."""
    start, end = 10, 28
    xs = [27] * start + [round(27 - 22 * k / (end - start - 1))
                         for k in range(end - start)] + [5] * (num_frames - end)
    circle = dict(role='target', color='red', shape='circle', half_size=3,
                  motion='left', move_span_frames=[start, end],
                  visible_span_frames=[start, end],
                  visible=[start <= t < end for t in range(num_frames)],
                  centres=[[x, 5] for x in xs])
    square = dict(role='distractor', color='blue', shape='square', half_size=3,
                  motion='still', move_span_frames=None,
                  visible_span_frames=[0, num_frames], visible=[True] * num_frames,
                  centres=[[16, 16]] * num_frames)
    return dict(video_id='v', video='v.mp4', num_frames=num_frames, fps=fps, width=32,
                height=32, sentence='the red circle moves left', target_mode='appear',
                target_span_frames=[start, end], objects=[circle, square])


@pytest.mark.parametrize('x, y, cell', [
    (5, 5, 'top left'), (16, 5, 'top'), (27, 5, 'top right'), (5, 16, 'left'),
    (16, 16, 'centre'), (27, 16, 'right'), (5, 27, 'bottom left'), (16, 27, 'bottom'),
    (27, 27, 'bottom right'),
    # Thirds of 32 px end at 10.67 and 21.33: pixel 10 (centre 10.5) is in the
    # first third, pixel 21 (centre 21.5) in the last.
    (10, 10, 'top left'), (11, 11, 'centre'), (21, 21, 'bottom right'), (0, 31, 'bottom left')])
def test_grid_position(x, y, cell):
    assert grid_position(x, y, 32, 32) == cell


def test_frame_time_is_frame_over_fps_with_one_decimal():
    assert frame_time(10, 8.0) == '1.2s'  # 1.25
    assert frame_time(28, 8.0) == '3.5s'
    assert frame_time(7, 3.0) == '2.3s'
    for frame in range(60):
        assert frame_time(frame, 8.0) == f'{frame / 8.0:.1f}s'


def test_caption_by_hand():
    assert describe_scene(make_scene()) == (
        'The video lasts 5.0s. On a textured background there are two shapes: a blue '
        'square and a red circle. From 0.0s to 5.0s the blue square stays still at the '
        'centre. The red circle is not visible before 1.2s. From 1.2s to 3.5s it moves '
        'left from the top right to the top left. It disappears at 3.5s.')


def test_caption_of_a_target_that_stands_still_around_its_move():
    scene = make_scene()
    circle = scene['objects'][0]
    circle['visible_span_frames'] = [0, 40]
    circle['visible'] = [True] * 40
    assert describe_scene(scene).endswith(
        'From 0.0s to 1.2s the red circle stays still at the top right. From 1.2s to '
        '3.5s it moves left from the top right to the top left. From 3.5s to 5.0s it '
        'stays still at the top left.')


def test_questions_by_hand():
    # Probe frames: the square's middle frame (0 + 40 - 1) // 2 = 19 (2.375 s);
    # the circle's hidden middle (10 - 1) // 2 = 4 (0.5 s) and the middle of
    # its move (10 + 28 - 1) // 2 = 18 (2.25 s), where it is at x = 17.
    assert make_scene()['objects'][0]['centres'][18] == [17, 5]
    assert scene_questions(make_scene()) == [
        ('How many shapes are there in the video?',
         'There are two shapes: a blue square and a red circle.'),
        ('When does the blue square move?',
         'The blue square does not move; it stays still at the centre.'),
        ('When does the red circle move?', 'The red circle moves left from 1.2s to 3.5s.'),
        ('Where is the blue square at 2.4s?', 'At 2.4s the blue square is at the centre.'),
        ('Where is the red circle at 0.5s?', 'At 0.5s the red circle is not visible.'),
        ('Where is the red circle at 2.2s?', 'At 2.2s the red circle is at the top.'),
        ('Which shape moves left?', 'The red circle moves left.'),
        ('Which shape moves right?', 'No shape moves right.'),
        ('What colour is the circle that moves left?', 'The circle that moves left is red.'),
        ('What colour is the circle that appears?', 'The circle that appears at 1.2s is red.'),
        ('When is the red circle visible?', 'The red circle is visible from 1.2s to 3.5s.'),
    ]


def test_zero_shot_entries_by_hand():
    cap, when = zero_shot_entries([make_scene()])
    assert [cap['id'], when['id']] == ['v_cap', 'v_when']
    assert cap['video'] == when['video'] == 'v.mp4'
    # The target span in seconds is frames [10, 28) over 8 fps.
    assert cap['gt_span_seconds'] == when['gt_span_seconds'] == [1.25, 3.5]
    prompt = CAPTION_PROMPTS[zlib.crc32(b'v') % len(CAPTION_PROMPTS)]
    assert cap['conversations'][0]['value'] == '<image>\n' + prompt
    assert cap['conversations'][1]['value'] == describe_scene(make_scene())
    assert when['conversations'][0]['value'] == '<image>\nWhen does the red circle move?'
    assert when['conversations'][1]['value'] == 'The red circle moves left from 1.2s to 3.5s.'
    assert (cap['data_source'], when['data_source']) == (CAPTION_SOURCE, QA_SOURCE)


def test_text_is_deterministic_and_uses_no_coordinates(small_synthetic):
    with open(osp.join(small_synthetic, 'annotations', 'scenes_train.json')) as f:
        scenes = json.load(f)
    assert llava_video_entries(scenes) == llava_video_entries(json.loads(json.dumps(scenes)))
    for entry in llava_video_entries(scenes):
        for message in entry['conversations']:
            # Every number is a time in seconds with one decimal.
            numbers = re.findall(r'\d+(?:\.\d+)?s?', message['value'])
            assert all(re.fullmatch(r'\d+\.\ds', n) for n in numbers), message['value']


def test_times_are_frame_over_fps_of_the_scene(small_synthetic):
    root = small_synthetic
    for split in ('train', 'val', 'test'):
        with open(osp.join(root, 'annotations', f'scenes_{split}.json')) as f:
            scenes = json.load(f)
        with open(osp.join(root, 'annotations', f'hcstvg_v1_{split}.json')) as f:
            hcstvg = json.load(f)
        for scene in scenes:
            entry = hcstvg[scene['video']]
            start = entry['st_frame'] - 1
            end = start + len(entry['bbox'])
            target = scene['objects'][0]
            name = f'{target["color"]} {target["shape"]}'
            since, until = f'{start / 8.0:.1f}s', f'{end / 8.0:.1f}s'
            caption = describe_scene(scene)
            assert f'From {since} to {until} ' in caption
            assert f'The video lasts {entry["img_num"] / 8.0:.1f}s.' in caption
            pairs = dict(scene_questions(scene))
            assert pairs[f'When does the {name} move?'] == \
                f'The {name} moves {target["motion"]} from {since} to {until}.'
            assert pairs[f'Which shape moves {target["motion"]}?'] == \
                f'The {name} moves {target["motion"]}.'


def test_file_follows_the_llava_video_format(small_synthetic):
    for split in ('train', 'val', 'test'):
        path = osp.join(small_synthetic, 'annotations', f'llava_video_{split}.json')
        with open(path) as f:
            entries = json.load(f)
        with open(osp.join(small_synthetic, 'annotations', f'scenes_{split}.json')) as f:
            scenes = json.load(f)
        assert isinstance(entries, list) and len(entries) == 2 * len(scenes)
        assert len({e['id'] for e in entries}) == len(entries)
        for scene, caption, qa in zip(scenes, entries[0::2], entries[1::2]):
            for entry in (caption, qa):
                assert list(entry) == ['id', 'video', 'conversations', 'data_source']
                assert entry['video'] == scene['video']
                assert osp.isfile(osp.join(small_synthetic, 'videos', entry['video']))
                messages = entry['conversations']
                assert len(messages) >= 2 and len(messages) % 2 == 0
                for turn, message in enumerate(messages):
                    assert list(message) == ['from', 'value']
                    assert message['from'] == ('human', 'gpt')[turn % 2]
                    assert message['value'].strip() == message['value'] != ''
                    assert message['value'].count('<image>') == int(turn == 0)
                assert messages[0]['value'].startswith('<image>\n')
            assert caption['id'] == scene['video_id'] + '_cap'
            assert caption['data_source'] == CAPTION_SOURCE
            assert len(caption['conversations']) == 2
            prompt = CAPTION_PROMPTS[zlib.crc32(scene['video_id'].encode()) % 3]
            assert caption['conversations'][0]['value'] == '<image>\n' + prompt
            assert caption['conversations'][1]['value'] == describe_scene(scene)
            assert qa['id'] == scene['video_id'] + '_oe_qa'
            assert qa['data_source'] == QA_SOURCE
            pairs = scene_questions(scene)
            assert len(qa['conversations']) == 2 * len(pairs) >= 12
            assert qa['conversations'][0]['value'] == '<image>\n' + pairs[0][0]
            assert [m['value'] for m in qa['conversations'][2::2]] == \
                [q for q, _ in pairs[1:]]
            assert [m['value'] for m in qa['conversations'][1::2]] == [a for _, a in pairs]
