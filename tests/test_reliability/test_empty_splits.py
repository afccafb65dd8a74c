"""A split with no sample was scored as all-zero figures, or failed obscurely.

- The grounding metrics (STVG, TVG, DiDeMo, REC) scored no record as
  ``m_vIoU 0.0 ... num_samples 0`` (only MMEngine's "got empty
  `self.results`" warning), so ``tools/test.py`` and
  ``trivial_baseline.py`` on an empty test split printed, and wrote, zeros
  and exited 0 (``VideoQAMetric`` already refused it). They now raise.
- ``indices=0`` (or ``[]``) on a dataset selected nothing: with
  ``serialize_data=False`` the split was empty (the zeros above), else
  MMEngine failed with a bare ``need at least one array to concatenate``.
  It is now an error naming the annotation file and ``indices``.
- A Charades-STA file whose every line is dropped (``start >= end`` after
  clipping) gave an empty dataset (or the same bare error): now an error
  naming the file, ``start/end`` and ``clip_end_to``.
"""
import importlib.util
import json
import os.path as osp

import pytest

from mmstvg.datasets import CharadesSTADataset, HCSTVGDataset
from mmstvg.datasets.validation import GroundingDataError
from mmstvg.registry import METRICS
from mmstvg.utils import register_all_modules

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

ENTRY = dict(st_frame=3, bbox=[[2, 2, 8, 8]] * 4, img_num=20, caption='a man walks.',
             width=32, height=24, fps=5.0)


def hcstvg_file(tmp_path):
    path = tmp_path / 'hcstvg_v1_test.json'
    path.write_text(json.dumps({'1_a.mp4': ENTRY, '2_b.mp4': ENTRY}))
    return str(path)


@pytest.mark.parametrize('metric', ['STVGMetric', 'TemporalGroundingMetric',
                                    'DiDeMoMetric', 'RECMetric'])
def test_a_metric_with_no_sample_reports_no_figures(metric):
    register_all_modules()
    with pytest.raises(ValueError, match='no samples were evaluated') as info:
        METRICS.build(dict(type=metric)).evaluate(0)
    assert metric in str(info.value) and 'indices' in str(info.value)


@pytest.mark.parametrize('indices', [0, []])
@pytest.mark.parametrize('serialize_data', [True, False])
def test_indices_that_select_nothing_name_the_key(tmp_path, indices, serialize_data):
    ann = hcstvg_file(tmp_path)
    with pytest.raises(GroundingDataError, match='selects none of the 2 samples') as info:
        HCSTVGDataset(ann_file=ann, check_video_exists=False, indices=indices,
                      serialize_data=serialize_data)
    assert info.value.field == 'indices' and ann in str(info.value)
    assert len(HCSTVGDataset(ann_file=ann, check_video_exists=False, indices=1)) == 1


def test_the_trivial_baseline_on_an_empty_split_writes_no_zeros(tmp_path):
    pipeline = [dict(type='GroundingDecordInit'),
                dict(type='UniformSampleFrames', num_frames=4, test_mode=True),
                dict(type='GroundingDecordDecode'),
                dict(type='PackGroundingInputs')]
    config = tmp_path / 'cfg.py'
    config.write_text(
        f'test_dataloader = dict(dataset=dict(type="HCSTVGDataset", '
        f'ann_file={hcstvg_file(tmp_path)!r}, test_mode=True, '
        f'serialize_data=False, pipeline={pipeline!r}))\n'
        'test_evaluator = dict(type="STVGMetric")\n')
    spec = importlib.util.spec_from_file_location(
        'trivial_baseline', osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                                     'trivial_baseline.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'trivial.json'
    with pytest.raises(GroundingDataError, match="field 'indices'"):
        tool.main([str(config), '--out', str(out),
                   '--cfg-options', 'test_dataloader.dataset.indices=0'])
    assert not out.exists()


@pytest.mark.parametrize('serialize_data', [True, False])
def test_charades_sta_with_every_line_dropped_is_an_error(tmp_path, serialize_data):
    ann = tmp_path / 'charades_sta_test.txt'
    ann.write_text('AAA 5.0 2.0##a person sits.\n'  # reversed
                   'AAA 9.0 9.5##a person stands.\n')  # after the csv length
    meta = tmp_path / 'meta.json'
    meta.write_text(json.dumps({'AAA': dict(num_frames=100, fps=10.0, height=24,
                                            width=32, length=8.0)}))
    with pytest.raises(GroundingDataError, match='none of its 2 entries') as info:
        CharadesSTADataset(ann_file=str(ann), meta_file=str(meta),
                           check_video_exists=False, serialize_data=serialize_data)
    message = str(info.value)
    assert str(ann) in message and "'start/end'" in message
    assert "clip_end_to='auto'" in message and '2 lines' in message
