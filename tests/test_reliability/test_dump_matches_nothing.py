"""Re-scoring a dump that answers none of the dataset's samples printed zeros.

``tools/analysis_tools/eval_predictions.py`` on an empty dump
(``"samples": []``), or on the dump of another split or config, scored every
sample of the dataset as missing and printed ``m_vIoU 0.00 ...
num_missing_pred N`` with exit status 0 (a warning at most). It now refuses
the dump, naming it, its field ``samples`` and the annotation file; a dump
that answers some of the samples is still scored (the others as missing).
"""
import importlib.util
import json
import os.path as osp

import pytest

from mmstvg.evaluation.functional.fingerprint import DumpMismatchError

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

ENTRY = dict(st_frame=3, bbox=[[2, 2, 8, 8]] * 4, img_num=20, caption='a man walks.',
             width=32, height=24, fps=5.0)


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'eval_predictions', osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                                     'eval_predictions.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def config(tmp_path):
    ann = tmp_path / 'hcstvg_v1_test.json'
    ann.write_text(json.dumps({'1_a.mp4': ENTRY, '2_b.mp4': ENTRY}))
    path = tmp_path / 'cfg.py'
    path.write_text(
        f'test_dataloader = dict(dataset=dict(type="HCSTVGDataset", '
        f'ann_file={str(ann)!r}, test_mode=True))\n')
    return str(path), str(ann)


def write_dump(tmp_path, samples):
    path = tmp_path / 'preds.stvg.json'
    path.write_text(json.dumps(dict(
        metric='STVGMetric', config=dict(type='STVGMetric', protocol='tubedetr'),
        samples=samples)))
    return str(path)


@pytest.mark.parametrize('sample_ids', [[], ['9_other.mp4#0', '8_other.mp4#0']])
def test_a_dump_that_answers_no_sample_is_refused(tmp_path, config, sample_ids):
    cfg, ann = config
    dump = write_dump(tmp_path, [dict(sample_id=s, frame_inds=[2, 3, 4, 5],
                                      pred_span_frames=[2, 6]) for s in sample_ids])
    out = tmp_path / 'metrics.json'
    with pytest.raises(DumpMismatchError, match="field 'samples'") as info:
        load_tool().main([dump, cfg, '--out', str(out)])
    message = str(info.value)
    assert dump in message and ann in message
    assert f'none of its {len(sample_ids)} entries' in message
    assert not out.exists()


def test_a_dump_that_answers_some_samples_is_scored(tmp_path, config):
    cfg, _ = config
    dump = write_dump(tmp_path, [dict(sample_id='1_a.mp4#0', frame_inds=[2, 3, 4, 5],
                                      pred_span_frames=[2, 6])])
    metrics = load_tool().main([dump, cfg])
    assert metrics['num_samples'] == 2 and metrics['num_missing_pred'] == 1
