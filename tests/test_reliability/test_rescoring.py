"""Issue 32: a re-scored dump gives the in-process figures, answers the
annotations' queries, and needs no video.

For every metric the library registers, a tiny set in its public format
(the synthetic set's HC-STVG, Charades-STA, RefCOCO and Video-MME files, and
DiDeMo's ``test_data.json`` converted without its videos) runs through the
real test pipeline; its samples get predictions (right, shifted, failed
parses, missing ones) and are scored in process with a dump. The dump is then
re-scored by ``tools/analysis_tools/eval_predictions.py`` with the videos and
images moved away: the figures must be the same, to the bit.

Before the fix, DiDeMo re-scored against the majority span (the dump path
dropped ``gt_spans_seconds_all``), the text-box counts (``num_malformed_boxes``
...) vanished, ``VideoQAMetric`` could not dump at all, and every dataset
stopped at the first missing video. A dump also held nothing of the queries
it answered, so it scored against other sentences of the same videos.
"""
import glob
import importlib.util
import json
import os
import os.path as osp
import re

import pytest
import torch

from mmstvg.datasets import generate_synthetic_stvg
from mmstvg.datasets.converters import convert_didemo
from mmstvg.datasets.synthetic_qa import synthetic_qa_rows
from mmstvg.registry import DATASETS, METRICS
from mmstvg.utils import register_all_modules

register_all_modules()

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'eval_predictions.py')

GROUNDING_PIPELINE = [
    dict(type='GroundingDecordInit'),
    dict(type='UniformSampleFrames', num_frames=6, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='PackGroundingInputs')
]
QA_PIPELINE = [step for step in GROUNDING_PIPELINE
               if step['type'] != 'LoadGroundingAnnotations']
#: One case per registered metric (STVG once per protocol).
CASES = ('STVGMetric/tubedetr', 'STVGMetric/stcat', 'STVGMetric/hcstvg',
         'TemporalGroundingMetric', 'DiDeMoMetric', 'RECMetric',
         'VideoQAMetric')
#: Per sample index: the span shift in frames, and what goes wrong
#: (3: a failed parse, 4: no prediction at all).
SHIFTS = (0, 2, -3, 1)


def load_tool():
    spec = importlib.util.spec_from_file_location('eval_predictions', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def synthetic(tmp_path):
    """5 synthetic videos of 8-12 s at 3 fps (32 px; spans of inexact
    seconds) and their files."""
    root = str(tmp_path / 'synthetic')
    generate_synthetic_stvg(root, num_train=0, num_val=5, size=32,
                            frame_range=(24, 36), fps=3.0,
                            write_language=False)
    return root


def write_didemo(root):
    """DiDeMo's ``test_data.json`` for the synthetic videos, converted without
    ``--video-dir``: the json has no frame counts, fps or sizes. Annotators:
    ``[0, 5], [0, 5], [0, 10], [5, 10]`` s (majority ``[0, 5]``)."""
    with open(f'{root}/annotations/hcstvg_v1_val.json') as f:
        entries = json.load(f)
    raw = [dict(annotation_id=i, description=entry['caption'],
                video=video.replace('.mp4', '.mov'),
                times=[[0, 0], [0, 0], [0, 1], [1, 1]],
                download_link='http://x', num_segments=6)
           for i, (video, entry) in enumerate(sorted(entries.items()))]
    raw_file = f'{root}/annotations/didemo_test_data.json'
    with open(raw_file, 'w') as f:
        json.dump(raw, f)
    out = f'{root}/annotations/didemo_test.json'
    convert_didemo(raw_file, out, video_ext='.mp4', show_progress=False)
    with open(out) as f:
        assert 'fps' not in next(iter(json.load(f)['videos'].values()))
    return out


def write_video_mme(root):
    with open(f'{root}/annotations/hcstvg_v1_val.json') as f:
        rows = synthetic_qa_rows(json.load(f))
    path = f'{root}/annotations/videomme_val.json'
    with open(path, 'w') as f:
        json.dump(rows, f)
    return path


def build_case(case, root):
    """``(dataset config, metric config)`` of a case on the synthetic set."""
    videos = dict(video=f'{root}/videos')
    ann = f'{root}/annotations'
    metric_type, _, protocol = case.partition('/')
    metric = dict(type=metric_type)
    if protocol:
        metric['protocol'] = protocol
    dataset = dict(test_mode=True, pipeline=GROUNDING_PIPELINE,
                   data_prefix=videos)
    if metric_type == 'STVGMetric':
        dataset.update(type='HCSTVGDataset',
                       ann_file=f'{ann}/hcstvg_v1_val.json')
    elif metric_type == 'TemporalGroundingMetric':
        dataset.update(type='CharadesSTADataset',
                       ann_file=f'{ann}/charades_sta_val.txt',
                       meta_file=f'{ann}/video_meta.json')
    elif metric_type == 'DiDeMoMetric':
        dataset.update(type='DiDeMoDataset', ann_file=write_didemo(root))
    elif metric_type == 'RECMetric':
        dataset.update(type='RefCOCODataset', ann_file=f'{ann}/refcoco_val.json',
                       data_prefix=dict(video=f'{root}/images'))
    else:
        dataset.update(type='VideoMMEDataset', ann_file=write_video_mme(root),
                       pipeline=QA_PIPELINE)
    return dataset, metric


def predict(sample, i):
    """Fill a packed sample's predictions as a model would (tensors)."""
    if i >= 4:
        return  # no prediction
    meta = sample.metainfo
    if 'gt_choice' in meta:
        sample.pred_choice = [meta['gt_choice'], (meta['gt_choice'] + 1) % 4,
                              meta['gt_choice'], -1][i]
        sample.pred_text = 'ABCD'[sample.pred_choice] if i < 3 else 'maybe'
        return
    start, end = sample.gt_span_frames.tolist()
    num_frames, fps = meta['num_frames'], meta['fps']
    span = (min(max(0, start + SHIFTS[i]), num_frames - 1),
            min(num_frames, end + SHIFTS[i] + 1))
    sample.pred_span_frames = torch.tensor(span)
    sample.pred_span_seconds = torch.tensor(span, dtype=torch.float32) / fps
    boxes = sample.gt_boxes.clone()
    boxes[~sample.gt_box_mask] = torch.tensor([1., 1., 9., 9.])
    boxes[:, 0::2] += 1.5 * i
    sample.pred_boxes = boxes
    sample.pred_parse_ok = i != 3
    sample.pred_text = f'from {span[0] / fps} to {span[1] / fps} seconds'
    # The text-box baseline's counts (summed into num_malformed_boxes ...).
    sample.pred_num_malformed_boxes = i % 2
    sample.pred_num_missing_boxes = int(i == 2)


def score_in_process(dataset_cfg, metric_cfg, prefix):
    """The in-process figures (two batches) and the dump's path."""
    dataset = DATASETS.build(dataset_cfg)
    metric = METRICS.build(dict(metric_cfg, outfile_prefix=prefix))
    samples = []
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        predict(sample, i)
        samples.append(sample.to_dict())
    metric.process(None, samples[:3])
    metric.process(None, samples[3:])
    metrics = metric.compute_metrics(metric.results)
    [dump] = glob.glob(f'{prefix}.*.json')
    return metrics, dump


def write_config(dataset_cfg, path):
    path.write_text("default_scope = 'mmstvg'\n"
                    f'test_dataloader = dict(dataset={dataset_cfg!r})\n')
    return str(path)


def hide_media(root):
    """Move the videos and images away: re-scoring reads annotations only."""
    for folder in ('videos', 'images'):
        os.rename(f'{root}/{folder}', f'{root}/{folder}_moved_away')


def test_every_registered_metric_has_a_case():
    registered = {name for name, cls in METRICS.module_dict.items()
                  if cls.__module__.startswith('mmstvg.')}
    assert registered == {case.partition('/')[0] for case in CASES}


@pytest.mark.parametrize('case', CASES)
def test_rescored_dump_gives_the_in_process_figures(case, synthetic, tmp_path):
    dataset_cfg, metric_cfg = build_case(case, synthetic)
    online, dump = score_in_process(dataset_cfg, metric_cfg,
                                    str(tmp_path / 'preds'))
    assert online['num_samples'] == 5
    hide_media(synthetic)
    offline = load_tool().main([dump, write_config(dataset_cfg,
                                                   tmp_path / 'cfg.py')])
    assert not set(online) - set(offline), 'figures lost when re-scored'
    assert {key: offline[key] for key in online} == online
    assert offline['num_unmatched_pred'] == 0


def test_didemo_rescores_against_every_annotator(synthetic, tmp_path):
    """The issue's case: re-scored, DiDeMo used the majority span only."""
    dataset_cfg, metric_cfg = build_case('DiDeMoMetric', synthetic)
    online, dump = score_in_process(dataset_cfg, metric_cfg,
                                    str(tmp_path / 'preds'))
    majority = METRICS.build(dict(type='TemporalGroundingMetric',
                                  iou_thresholds=(0.5, 0.7)))
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[]))
    from mmstvg.evaluation import samples_from_dump
    with open(dump) as f:
        samples, _ = samples_from_dump(
            json.load(f)['samples'],
            [dataset.get_data_info(i) for i in range(len(dataset))])
    majority.process(None, samples)
    assert online['mIoU'] != majority.compute_metrics(majority.results)['mIoU']
    offline = load_tool().main([dump, write_config(dataset_cfg,
                                                   tmp_path / 'cfg.py')])
    assert offline['mIoU'] == online['mIoU']


def charades_dump(synthetic, tmp_path):
    dataset_cfg, metric_cfg = build_case('TemporalGroundingMetric', synthetic)
    online, dump = score_in_process(dataset_cfg, metric_cfg,
                                    str(tmp_path / 'preds'))
    return dataset_cfg, online, dump


def rewrite_lines(path, change):
    with open(path) as f:
        lines = f.read().splitlines()
    with open(path, 'w') as f:
        f.write('\n'.join(change(lines)) + '\n')


def test_a_dump_is_refused_against_other_sentences(synthetic, tmp_path):
    dataset_cfg, _, dump = charades_dump(synthetic, tmp_path)
    # Same video ids and spans, other sentences (rotated by one line).
    heads = None

    def rotate(lines):
        nonlocal heads
        heads = [line.split('##')[0] for line in lines]
        texts = [line.split('##')[1] for line in lines]
        return [f'{h}##{t}' for h, t in zip(heads, texts[1:] + texts[:1])]

    rewrite_lines(dataset_cfg['ann_file'], rotate)
    with pytest.raises(ValueError) as error:
        load_tool().main([dump, write_config(dataset_cfg, tmp_path / 'c.py')])
    message = str(error.value)
    first = heads[0].split()[0]
    assert f"sample '{first}#0'" in message and "field 'sentence'" in message
    assert dump in message and dataset_cfg['ann_file'] in message


def test_a_dump_is_refused_against_a_changed_annotation_file(synthetic,
                                                             tmp_path):
    dataset_cfg, online, dump = charades_dump(synthetic, tmp_path)
    # The same queries, one span changed: the file is not the one answered.
    rewrite_lines(dataset_cfg['ann_file'],
                  lambda lines: [re.sub(r' (\S+)##', ' 11.0##', lines[0])]
                  + lines[1:])
    config = write_config(dataset_cfg, tmp_path / 'c.py')
    with pytest.raises(ValueError, match="field 'ann_file_hash'"):
        load_tool().main([dump, config])
    # Asked for, it scores against the changed file.
    offline = load_tool().main([dump, config, '--allow-changed-ann-file'])
    assert offline['num_samples'] == online['num_samples']


def test_an_old_dump_without_fingerprints_is_scored_with_one_warning(
        synthetic, tmp_path, monkeypatch):
    dataset_cfg, online, dump = charades_dump(synthetic, tmp_path)
    with open(dump) as f:
        content = json.load(f)
    for entry in content['samples']:
        del entry['fingerprint']
    with open(dump, 'w') as f:
        json.dump(content, f)
    from mmengine.logging import MMLogger
    logged = []
    monkeypatch.setattr(MMLogger.get_current_instance(), 'warning',
                        logged.append)
    offline = load_tool().main([dump, write_config(dataset_cfg,
                                                   tmp_path / 'c.py')])
    assert {key: offline[key] for key in online} == online
    unchecked = [line for line in logged if 'fingerprint' in line]
    assert len(unchecked) == 1 and 'not checked' in unchecked[0]
