"""Dump per-sample predictions, then re-score them with eval_predictions.py."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.dataset import BaseDataset

from mmstvg.evaluation import STVGMetric
from mmstvg.registry import DATASETS

from .conftest import GT_BOX, make_stvg_sample

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'eval_predictions.py')
FAR = [10., 0., 20., 10.]


@DATASETS.register_module(force=True)
class ToyAnnotationDataset(BaseDataset):
    """A dataset whose data infos come from the config (the data-info contract)."""

    def __init__(self, infos=(), **kwargs):
        self.infos = infos
        super().__init__(**kwargs)

    def load_data_list(self):
        data_list = []
        for info in self.infos:
            start, end = info['gt_span_frames']
            tube = np.arange(start, end, dtype=np.int64)
            data_list.append(dict(
                info, video_path=f'/videos/{info["video_id"]}.mp4',
                task='stvg', sentence='the man walks', dataset_name='toy',
                qtype='', fps=1.0, duration=float(info['num_frames']),
                height=20, width=20,
                gt_span_seconds=(float(start), float(end)),
                gt_tube_frame_inds=tube,
                gt_tube_boxes=np.tile(np.float32(GT_BOX), (len(tube), 1))))
        return data_list


INFOS = [
    dict(sample_id='v0#0', video_id='v0', num_frames=10, gt_span_frames=[2, 6]),
    dict(sample_id='v1#0', video_id='v1', num_frames=10, gt_span_frames=[2, 6]),
    dict(sample_id='v2#0', video_id='v2', num_frames=10, gt_span_frames=[2, 6]),
]


def online_samples():
    return [
        # the STVGMetric docstring's worked example
        make_stvg_sample(pred_span=(4, 8), sample_id='v0#0',
                         pred_boxes=[GT_BOX, GT_BOX, GT_BOX, FAR, FAR]),
        make_stvg_sample(pred_span=(2, 6), sample_id='v1#0',
                         pred_boxes=[GT_BOX] * 5),
        make_stvg_sample(sample_id='v2#0'),  # no prediction
    ]


def load_tool():
    spec = importlib.util.spec_from_file_location('eval_predictions', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_config(tmp_path):
    path = tmp_path / 'toy_config.py'
    path.write_text(
        "default_scope = 'mmstvg'\n"
        f'test_dataloader = dict(dataset=dict(type=\'ToyAnnotationDataset\', '
        f'infos={INFOS!r}, pipeline=[dict(type=\'NotBuiltOffline\')]))\n')
    return str(path)


def test_dump_and_rescore_round_trip(tmp_path, capsys):
    metric = STVGMetric(outfile_prefix=str(tmp_path / 'preds'))
    metric.process(None, online_samples())
    online = metric.compute_metrics(metric.results)
    # v0: (1/3, 1/3, 1), v1: (1, 1, 1), v2 missing: (0, 0, 0)
    assert online['m_tIoU'] == pytest.approx((1 / 3 + 1) / 3 * 100)
    assert online['gt_vIoU'] == pytest.approx(200 / 3)

    dump_path = tmp_path / 'preds.stvg.json'
    dump = json.loads(dump_path.read_text())
    assert dump['metric'] == 'STVGMetric'
    assert dump['config']['protocol'] == 'tubedetr'
    entries = {e['sample_id']: e for e in dump['samples']}
    assert entries['v0#0']['pred_span_frames'] == [4, 8]
    assert entries['v0#0']['frame_inds'] == [0, 2, 4, 6, 8]
    assert entries['v0#0']['scores']['vIoU'] == pytest.approx(1 / 3)
    assert entries['v2#0']['status'] == ['missing_pred']
    assert entries['v2#0']['pred_boxes'] is None

    # Offline: v2 drops out of the dump (still scored as missing), and a
    # prediction for a sample the dataset lacks is reported, not scored.
    dump['samples'] = [e for e in dump['samples'] if e['sample_id'] != 'v2#0']
    dump['samples'].append(dict(entries['v1#0'], sample_id='ghost#0'))
    dump_path.write_text(json.dumps(dump))
    tool = load_tool()
    offline = tool.main([str(dump_path), write_config(tmp_path)])
    for key, value in online.items():
        assert offline[key] == pytest.approx(value, abs=1e-9), key
    assert offline['num_missing_pred'] == 1
    assert offline['num_unmatched_pred'] == 1
    table = capsys.readouterr().out
    assert 'STVGMetric (tubedetr)' in table and 'm_vIoU' in table

    # Another protocol: STCAT reads the GT span as [2, 5), so even v1's exact
    # prediction [2, 6) has tIoU = vIoU = 3/4; v0 is the worked example.
    stcat = tool.main([str(dump_path), write_config(tmp_path), '--protocol',
                       'stcat', '--out', str(tmp_path / 'stcat.json')])
    assert stcat['m_tIoU'] == pytest.approx((1 / 6 + 3 / 4) / 3 * 100)
    assert stcat['m_vIoU'] == pytest.approx((1 / 6 + 3 / 4) / 3 * 100)
    assert stcat['gt_vIoU'] == pytest.approx((5 / 6 + 1) / 3 * 100)
    written = json.loads((tmp_path / 'stcat.json').read_text())
    assert written['m_tIoU'] == pytest.approx(stcat['m_tIoU'])


def test_protocol_on_a_non_stvg_dump_is_refused(tmp_path):
    dump = dict(metric='RECMetric', config=dict(type='RECMetric'), samples=[])
    path = tmp_path / 'preds.rec.json'
    path.write_text(json.dumps(dump))
    with pytest.raises(ValueError, match='--protocol applies to STVGMetric'):
        load_tool().main([str(path), write_config(tmp_path), '--protocol',
                          'stcat'])
