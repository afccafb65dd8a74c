"""Issue 32: the trivial baseline on Charades-STA used the decoded duration.

``tools/analysis_tools/trivial_baseline.py`` ran the whole test pipeline, so
it needed every video on disk and decoded each one, and it answered
``[0, num_frames / fps]``: the decoded duration, not the csv ``length`` that
2D-TAN's protocol clips the ground truth to (0.1 mIoU off on the real split).
It now reads the annotations only, samples frames from the annotated frame
count, decodes nothing, and answers ``[0, clip_end_seconds]`` (the csv
length as the converter carries it).
"""
import importlib.util
import json
import os
import os.path as osp

import decord
import numpy as np
import pytest

from mmstvg.datasets import CharadesSTADataset, generate_synthetic_stvg

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The csv length of each synthetic video (their decoded durations: 10.0,
#: 10.67 and 10.33 s).
LENGTHS = dict(synth_val_00000=9.0, synth_val_00001=10.0, synth_val_00002=9.5)


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'trivial_baseline', osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                                     'trivial_baseline.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def charades(tmp_path):
    """Three synthetic videos of 30-32 frames at 3 fps, Charades-STA files
    whose meta has a csv ``length`` shorter than each video; the videos are
    moved away."""
    root = str(tmp_path / 'synthetic')
    generate_synthetic_stvg(root, num_train=0, num_val=3, size=32, frame_range=(24, 36),
                            fps=3.0, write_language=False)
    meta_file = f'{root}/annotations/video_meta.json'
    with open(meta_file) as f:
        meta = json.load(f)
    assert sorted(meta) == sorted(LENGTHS)
    for vid, length in LENGTHS.items():
        meta[vid]['length'] = length
    with open(meta_file, 'w') as f:
        json.dump(meta, f)
    os.rename(f'{root}/videos', f'{root}/videos_moved_away')
    dataset = dict(type='CharadesSTADataset', ann_file=f'{root}/annotations/charades_sta_val.txt',
                   meta_file=meta_file, data_prefix=dict(video=f'{root}/videos'),
                   test_mode=True,
                   pipeline=[dict(type='GroundingDecordInit'),
                             dict(type='UniformSampleFrames', num_frames=6, test_mode=True),
                             dict(type='GroundingDecordDecode'),
                             dict(type='LoadGroundingAnnotations'),
                             dict(type='PackGroundingInputs')])
    config = tmp_path / 'charades_trivial.py'
    config.write_text(f"default_scope = 'mmstvg'\ntest_dataloader = dict(dataset={dataset!r})\n"
                      "test_evaluator = dict(type='TemporalGroundingMetric')\n")
    return root, str(config), dataset


def expected_miou(root):
    """The mean IoU of ``[0, length]`` with each line's span clipped to it."""
    ious = []
    for line in open(f'{root}/annotations/charades_sta_val.txt'):
        head = line.split('##')[0].split()
        vid, start, end = head[0], float(head[1]), float(head[2])
        length = LENGTHS[vid]
        ious.append((min(end, length) - start) / length)
    return 100 * float(np.mean(ious))


def test_the_trivial_answer_ends_at_the_csv_length_without_any_video(charades, monkeypatch,
                                                                      tmp_path):
    root, config, _ = charades

    def refuse(*args, **kwargs):
        raise AssertionError('a video was opened')

    monkeypatch.setattr(decord, 'VideoReader', refuse)
    metrics = load_tool().main([config, '--out', str(tmp_path / 'trivial.json')])
    [miou] = [value for key, value in metrics.items() if key.endswith('mIoU')]
    assert miou == pytest.approx(expected_miou(root), abs=1e-4)


def test_the_data_info_carries_the_csv_length(charades):
    root, _, dataset = charades
    kwargs = {key: value for key, value in dataset.items() if key != 'type'}
    dataset = CharadesSTADataset(**{**kwargs, 'pipeline': [], 'check_video_exists': False})
    tool = load_tool()
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        assert info['clip_end_seconds'] == LENGTHS[info['video_id']]
        prediction = tool.trivial_prediction(info, np.arange(6))
        assert prediction['pred_span_seconds'].tolist() == [0.0, LENGTHS[info['video_id']]]
        assert prediction['pred_span_frames'].tolist() == [0, info['num_frames']]
