"""The construction pipeline end to end on tiny synthetic videos.

The detector is the test-local ColourBlobDetector (tests/.../fake_parts.py)
where boxes must mean something, and the tiny random Grounding-DINO where the
real detector's path is under test (threshold 0, one box a frame).
"""
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mmstvg.data_construction import (STVGConstructionPipeline, load_caption_list,
                                      parse_picker_reply, sample_frame_indices)
from mmstvg.datasets import HCSTVGDataset
from tests.test_data_construction.fake_parts import SimulatedKill

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAKE_PARTS = 'tests.test_data_construction.fake_parts'
UNMATCHED = 'a person waves at the camera'


def caption_list(synthetic_set, tmp_path):
    """The synthetic videos with their captions, the last one's replaced."""
    items = [dict(video=key, caption=entry['caption'])
             for key, entry in synthetic_set['entries'].items()]
    items[-1]['caption'] = UNMATCHED
    path = str(tmp_path / 'captions.json')
    with open(path, 'w') as f:
        json.dump(items, f)
    return path, items


def pipeline_cfg(synthetic_set, captions, work_dir, **overrides):
    cfg = dict(
        source=dict(ann_file=captions, video_root=synthetic_set['video_root'],
                    format='list'),
        object_picker=dict(type='RegexObjectPicker', pattern=r'^(?P<object>the \w+ \w+) moves',
                           batch_size=2),
        detector=dict(type='ColourBlobDetector'),
        construction_filters=[
            dict(type='DurationFilter', min_seconds=2.1, max_seconds=120.0),
            dict(type='MaxBoxesFrameFilter', max_boxes=3),
            dict(type='BoxAreaJumpFrameFilter', max_ratio=2.0),
            dict(type='BoundaryRefinement', max_gap_seconds=1.0),
            dict(type='DurationFilter', min_seconds=0.25, max_seconds=None, measure='span'),
        ],
        work_dir=str(work_dir), sampling=dict(sample_fps=4.0), progress=False,
        custom_imports=dict(imports=[FAKE_PARTS]))
    cfg.update(overrides)
    return Config(cfg)


def read(path):
    with open(path) as f:
        return f.read()


@pytest.fixture(scope='module')
def uninterrupted(synthetic_set, tmp_path_factory):
    """One full run of the fake-detector config (shared by the tests)."""
    root = tmp_path_factory.mktemp('uninterrupted')
    captions, items = caption_list(synthetic_set, root)
    pipeline = STVGConstructionPipeline.from_config(
        pipeline_cfg(synthetic_set, captions, root / 'work'))
    report = pipeline.run()
    return dict(pipeline=pipeline, report=report, captions=captions, items=items)


def test_report_counts_every_rule(uninterrupted, synthetic_set):
    report, items = uninterrupted['report'], uninterrupted['items']
    entries = synthetic_set['entries']
    keys = [item['video'] for item in items]
    short = [k for k in keys[:-1] if entries[k]['img_num'] / 8.0 < 2.1]
    assert report['num_videos'] == len(items)
    assert report['object_picker'] == dict(num_picked=len(items) - 1, num_malformed=1)
    assert report['dropped_by_rule']['object_picker'] == 1
    assert report['dropped_by_rule']['duration_clip'] == len(short)
    assert set(report['dropped_by_rule']) == {
        'object_picker', 'duration_clip', 'max_boxes', 'area_jump', 'boundary_refinement',
        'duration_span', 'no_detections'}
    assert set(report['frames_dropped_by_rule']) == {
        'duration_clip', 'max_boxes', 'area_jump', 'boundary_refinement', 'duration_span'}
    assert report['num_kept'] + report['num_dropped'] == len(items)
    assert report['num_failed'] == 0
    assert sum(report['dropped_by_rule'].values()) == report['num_dropped']
    assert report['samples'][keys[-1]]['reason'].startswith('malformed reply: no match')
    for key in short:
        assert report['samples'][key]['rule'] == 'duration_clip'
        assert report['samples'][key]['reason'].startswith('clip lasts')
    # The detector ran on every 2nd frame (8 fps -> 4 fps) of the other videos.
    grounded = [k for k in keys[:-1] if k not in short]
    assert report['num_sampled_frames'] == sum(
        len(sample_frame_indices(entries[k]['img_num'], 8.0, sample_fps=4.0))
        for k in grounded)
    assert report['num_kept'] >= 2, report['samples']


def test_output_loads_in_hcstvg_dataset(uninterrupted, synthetic_set):
    pipeline, report = uninterrupted['pipeline'], uninterrupted['report']
    with open(pipeline.ann_file) as f:
        annotations = json.load(f)
    assert len(annotations) == report['num_kept']
    dataset = HCSTVGDataset(ann_file=pipeline.ann_file,
                            data_prefix=dict(video=synthetic_set['video_root']),
                            pipeline=[], on_bad_sample='error')
    assert len(dataset) == report['num_kept']
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        key = info['sample_id'].split('#')[0]
        entry = annotations[key]
        start, end = report['samples'][key]['span_frames']
        assert tuple(info['gt_span_frames']) == (start, end) == (
            entry['st_frame'] - 1, entry['ed_frame'])
        assert len(info['gt_tube_boxes']) == end - start
        np.testing.assert_allclose(info['gt_tube_boxes'][:, 2:] - info['gt_tube_boxes'][:, :2],
                                   np.array(entry['bbox'])[:, 2:])
        assert info['fps'] == 8.0 and info['sentence'] == entry['caption']
        # The colour blobs found the target: its boxes overlap the truth.
        truth = synthetic_set['entries'][key]
        t_start = truth['st_frame'] - 1
        overlap = range(max(start, t_start), min(end, t_start + len(truth['bbox'])))
        assert len(overlap) > 0


def test_resume_after_a_kill_processes_only_the_rest(uninterrupted, synthetic_set,
                                                     tmp_path):
    captions, items = uninterrupted['captions'], uninterrupted['items']
    keys = [item['video'] for item in items]
    cfg = pipeline_cfg(synthetic_set, captions, tmp_path / 'work',
                       detector=dict(type='ColourBlobDetector', kill_after=1))
    killed = STVGConstructionPipeline.from_config(cfg)
    with pytest.raises(SimulatedKill):
        killed.run()
    done = list(killed.processed['grounded'])
    assert 1 <= len(done) < len(keys)
    results = os.listdir(tmp_path / 'work' / 'results')
    assert len(results) == len(done) and all(name.endswith('.json') for name in results)
    assert len(os.listdir(tmp_path / 'work' / 'picks')) == len(keys)
    assert not osp.exists(killed.ann_file)

    cfg.detector = dict(type='ColourBlobDetector', call_log=str(tmp_path / 'calls.jsonl'))
    rerun = STVGConstructionPipeline.from_config(cfg)
    rerun.run()
    assert rerun.processed['picked'] == []
    assert sorted(rerun.processed['grounded']) == sorted(set(keys) - set(done))
    reference = uninterrupted['pipeline']
    assert read(rerun.ann_file) == read(reference.ann_file)
    assert read(rerun.report_file) == read(reference.report_file)
    # A third run finds everything done and rewrites the same files.
    third = STVGConstructionPipeline.from_config(cfg)
    third.run()
    assert third.processed == dict(picked=[], grounded=[])
    assert read(third.report_file) == read(reference.report_file)


def test_workers_and_limit(uninterrupted, synthetic_set, tmp_path):
    captions = uninterrupted['captions']
    log = str(tmp_path / 'calls.jsonl')
    # 'fork' here only because 'spawn' (the default, safe with CUDA) re-imports
    # torch and mmdet in each worker: over a minute on the 2 shared test cores.
    cfg = pipeline_cfg(synthetic_set, captions, tmp_path / 'work', workers=2,
                       start_method='fork',
                       detector=dict(type='ColourBlobDetector', call_log=log))
    STVGConstructionPipeline.from_config(cfg).run()
    with open(log) as f:
        pids = {json.loads(line)['pid'] for line in f}
    assert os.getpid() not in pids
    reference = uninterrupted['pipeline']
    assert read(osp.join(tmp_path, 'work', 'annotations', 'hcstvg_constructed.json')) == \
        read(reference.ann_file)
    limited = STVGConstructionPipeline.from_config(
        pipeline_cfg(synthetic_set, captions, tmp_path / 'limited'))
    report = limited.run(limit=2)
    assert report['num_videos'] == 2
    assert len(os.listdir(tmp_path / 'limited' / 'results')) == 2


def test_transformers_picker_in_the_pipeline_counts_malformed(synthetic_set, tiny_lm,
                                                              tmp_path):
    captions, _ = caption_list(synthetic_set, tmp_path)
    cfg = pipeline_cfg(synthetic_set, captions, tmp_path / 'work', object_picker=dict(
        type='TransformersObjectPicker', model_path=tiny_lm['model'],
        tokenizer_path=tiny_lm['tokenizer'], batch_size=4, max_new_tokens=8,
        device='cpu', torch_dtype='float32'))
    pipeline = STVGConstructionPipeline.from_config(cfg)
    try:
        report = pipeline.run()
    except ValueError as error:  # the random tiny LM's replies: possibly none usable
        assert 'kept none of its' in str(error)
        report = json.loads(read(pipeline.report_file))
    raws = [pipeline.store.load('picks', item.key)['raw']
            for item in load_caption_list(captions)]
    malformed = sum(not parse_picker_reply(raw).ok for raw in raws)
    assert report['object_picker']['num_malformed'] == malformed
    assert report['dropped_by_rule']['object_picker'] == malformed
    assert report['num_videos'] == len(raws) and report['num_failed'] == 0


def test_bad_inputs_are_named(synthetic_set, tmp_path):
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps([dict(video='a.mp4', caption='x'), dict(video='b.mp4')]))
    with pytest.raises(ValueError, match=r"bad.json: entry 1: field 'caption'"):
        load_caption_list(str(path))
    path.write_text(json.dumps([dict(video='a.mp4', caption='x', span=[3, 1])]))
    with pytest.raises(ValueError, match=r"entry 0: field 'span'"):
        load_caption_list(str(path))
    path.write_text(json.dumps([dict(video='a.mp4', caption='x'),
                                dict(video='./a.mp4', caption='y')]))
    with pytest.raises(ValueError, match='one sample per video'):
        load_caption_list(str(path))
    captions, _ = caption_list(synthetic_set, tmp_path)
    cfg = pipeline_cfg(synthetic_set, captions, tmp_path / 'work')
    cfg.construction_filters = [dict(type='DurationFilter', measure='span')]
    with pytest.raises(ValueError, match='BoundaryRefinement'):
        STVGConstructionPipeline.from_config(cfg)
    # A missing video is a counted failure, not a stop (and a run that keeps
    # no video at all is an error; its report is written).
    cfg = pipeline_cfg(synthetic_set, captions, tmp_path / 'work2')
    cfg.source.video_root = str(tmp_path / 'nowhere')
    with pytest.raises(ValueError, match='kept none of its'):
        STVGConstructionPipeline.from_config(cfg).run()
    report = json.loads(read(tmp_path / 'work2' / 'construction_report.json'))
    assert report['num_failed'] == len(synthetic_set['entries']) - 1
    assert all(s['reason'].startswith('FileNotFoundError') for s in report['samples'].values()
               if s['status'] == 'failed')


def test_constructed_annotations_train_the_toy_config(uninterrupted, synthetic_set,
                                                      tmp_path):
    import math

    from mmstvg.engine.runner_builder import build_runner
    from tests.test_configs.test_toy_configs_train import logged_losses, make_tiny
    from tools.misc.create_toy_pretrained import create_toy_pretrained
    toy_dir = str(tmp_path / 'toy')
    info = create_toy_pretrained(toy_dir, image_size=32, patch_size=8, vision_hidden=32,
                                 llm_hidden=64, llm_layers=1, llm_heads=4, llm_kv_heads=2,
                                 max_positions=1024)
    assets = dict(data_root=synthetic_set['root'] + '/', toy_dir=toy_dir,
                  vocab_size=info['vocab_size'])
    cfg = make_tiny(Config.fromfile(osp.join(REPO_ROOT, 'configs', 'scratch', 'spacevllm_scratch.py')),
                    assets, str(tmp_path / 'work'), max_iters=2)
    dataset = cfg.train_dataloader.dataset
    dataset.ann_file = uninterrupted['pipeline'].ann_file
    dataset.data_prefix = dict(video=synthetic_set['video_root'])
    runner = build_runner(cfg)
    assert len(runner.train_dataloader.dataset) == uninterrupted['report']['num_kept']
    runner.train()
    losses = logged_losses(runner)
    assert {'loss', 'loss_lm', 'loss_bbox', 'loss_iou'} <= set(losses)
    for key, history in losses.items():
        assert len(history) == 2 and all(math.isfinite(v) for v in history), key


USER_FILTER = '''
import numpy as np
from mmstvg.data_construction import BaseConstructionFilter
from mmstvg.registry import CONSTRUCTION_FILTERS


@CONSTRUCTION_FILTERS.register_module()
class {name}(BaseConstructionFilter):
    default_rule = 'min_box_side'

    def __init__(self, min_side=8, rule=None):
        super().__init__(rule)
        self.min_side = min_side

    def __call__(self, sample):
        sides = sample.chosen_boxes[:, 2:] - sample.chosen_boxes[:, :2]
        sample.drop_frames(np.nan_to_num(sides.min(axis=1)) < self.min_side, self.rule)
        return None
'''


def test_a_users_filter_through_custom_imports(uninterrupted, synthetic_set, tmp_path,
                                               monkeypatch):
    """The docs' example: a filter in the user's module, named in a config file."""
    import sys

    from mmstvg.registry import CONSTRUCTION_FILTERS
    name, module = 'MinBoxSideFrameFilterForTest', 'user_construction_filter_test'
    (tmp_path / f'{module}.py').write_text(USER_FILTER.format(name=name))
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = pipeline_cfg(synthetic_set, uninterrupted['captions'], tmp_path / 'work')
    cfg.construction_filters.insert(1, dict(type=name, min_side=1000))
    cfg.custom_imports = dict(imports=[FAKE_PARTS, module], allow_failed_imports=False)
    config_file = tmp_path / 'my_construction.py'
    cfg.dump(str(config_file))
    try:
        pipeline = STVGConstructionPipeline.from_config(Config.fromfile(str(config_file)))
        # No box is 1000 px wide: every detected frame is dropped by the
        # user's rule, and a run that keeps no video is an error.
        with pytest.raises(ValueError, match='kept none of its'):
            pipeline.run()
    finally:
        sys.modules.pop(module, None)
        CONSTRUCTION_FILTERS.module_dict.pop(name, None)
    report = json.loads(read(pipeline.report_file))
    assert report['frames_dropped_by_rule']['min_box_side'] == \
        report['num_detected_frames'] > 0
    assert report['num_kept'] == 0
    assert report['dropped_by_rule']['boundary_refinement'] == \
        uninterrupted['report']['num_videos'] - 1 - report['dropped_by_rule']['duration_clip']
