"""tools/analysis_tools/analyze_logs.py on a tiny synthetic MMEngine json log."""
import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest

TOOL = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                'tools', 'analysis_tools', 'analyze_logs.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('analyze_logs', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_log(work_dir, times=(9.0, 2.0, 3.0, 4.0), val_after=(2, 4)):
    vis = work_dir / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = []
    for k, t in enumerate(times, 1):
        lines.append(dict(lr=1e-3, loss=10.0 - k, loss_lm=5.0 - k / 2, time=t,
                          iter=10 * k, step=10 * k))
        if k in val_after:
            lines.append({'stvg/m_vIoU': 5.0 * k, 'time': 0.5, 'step': 0})
    path = vis / 'scalars.json'
    path.write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    return path


def test_load_places_val_records_at_the_last_train_iter(tool, tmp_path):
    log = tool.load_json_log(str(_write_log(tmp_path)))
    assert [r['iter'] for r in log['train']] == [10, 20, 30, 40]
    assert [(r['iter'], r['stvg/m_vIoU']) for r in log['val']] == [(20, 10.0), (40, 20.0)]
    assert tool.curve(log, 'loss_lm') == ([10, 20, 30, 40], [4.5, 4.0, 3.5, 3.0])


def test_plot_curve_writes_a_png_with_a_panel_per_key(tool, tmp_path):
    _write_log(tmp_path)
    out = tmp_path / 'curves.png'
    result = tool.main(['plot_curve', str(tmp_path), '--keys', 'loss', 'stvg/m_vIoU',
                        '--out', str(out), '--dpi', '50'])
    assert result['points'] == {'20260101_000000': {'loss': 4, 'stvg/m_vIoU': 2}}
    image = cv2.imread(str(out))
    # figsize (7, 2.4 * 2 + 0.6) inches at 50 dpi
    assert image.shape[:2] == (270, 350)
    assert (image < 200).any(axis=2).mean() > 0.01  # something is drawn
    with pytest.raises(KeyError, match="keys there: .*'loss_lm'"):
        tool.main(['plot_curve', str(tmp_path), '--keys', 'no_such_key', '--out', str(out)])


def test_cal_train_time_leaves_out_the_first_interval(tool, tmp_path, capsys):
    path = _write_log(tmp_path)
    result = tool.main(['cal_train_time', str(path)])[str(path)]
    assert result['mean'] == pytest.approx(3.0)
    assert result['std'] == pytest.approx(np.std([2.0, 3.0, 4.0]))
    assert (result['slowest'], result['slowest_iter']) == (4.0, 40)
    assert (result['fastest'], result['fastest_iter']) == (2.0, 20)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])[str(path)]['mean'] == 3.0
    full = tool.cal_train_time([str(path)], include_outliers=True)[str(path)]
    assert full['mean'] == pytest.approx(4.5) and full['num_intervals'] == 4


def test_bad_lines_and_missing_logs_are_named(tool, tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text('{"iter": 1, "loss": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r'bad\.json:2'):
        tool.load_json_log(str(bad))
    with pytest.raises(FileNotFoundError, match='no json log'):
        tool.resolve_log(str(tmp_path / 'nowhere'))


# A toy run's scalars.json as MMEngine 0.10.7 wrote it (tools/train.py
# configs/scratch/spacevllm_scratch.py, max_iters=6, val_interval=3, logger interval 2;
# figures rounded): train records carry iter/step, val records step 0.
TOY_RECORDS = [
    dict(lr=0.001, data_time=0.156, grad_norm=17.1613, loss=11.48, loss_lm=7.2139,
         loss_bbox=2.0278, loss_iou=1.5335, loss_span_score=0.7048, time=1.6962, iter=2,
         step=2),
    {'stvg/m_tIoU': 0.0, 'stvg/m_vIoU': 0.0, 'stvg/gt_vIoU': 36.0211,
     'stvg/num_samples': 2, 'stvg/num_failed_parse': 2, 'data_time': 0.6124,
     'time': 1.4883, 'step': 0},
    dict(lr=0.0007, data_time=0.5693, grad_norm=14.4238, loss=10.5975, loss_lm=6.9332,
         loss_bbox=1.5646, loss_iou=1.4101, loss_span_score=0.6896, time=1.9971, iter=4,
         step=4),
    dict(lr=0.0001, data_time=0.4122, grad_norm=14.2611, loss=10.2471, loss_lm=6.7183,
         loss_bbox=1.4517, loss_iou=1.395, loss_span_score=0.682, time=1.7083, iter=6,
         step=6),
    {'stvg/m_tIoU': 0.0, 'stvg/m_vIoU': 0.0, 'stvg/gt_vIoU': 39.4323,
     'stvg/num_samples': 2, 'stvg/num_failed_parse': 2, 'data_time': 0.3771,
     'time': 1.0781, 'step': 0},
]


def test_plot_curve_on_a_toy_work_dir(tool, tmp_path):
    # an earlier, failed run left a timestamp folder without a log
    (tmp_path / '20261202_155139' / 'vis_data').mkdir(parents=True)
    vis = tmp_path / '20261202_155357' / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in TOY_RECORDS) + '\n')
    assert tool.resolve_log(str(tmp_path)) == str(vis / 'scalars.json')
    log = tool.load_json_log(str(vis / 'scalars.json'))
    assert tool.curve(log, 'stvg/gt_vIoU') == ([2, 6], [36.0211, 39.4323])
    assert tool.curve(log, 'loss_span_score') == ([2, 4, 6], [0.7048, 0.6896, 0.682])
    out = tmp_path / 'curves.png'
    result = tool.main(['plot_curve', str(tmp_path), '--keys', 'loss', 'loss_lm',
                        'stvg/gt_vIoU', '--out', str(out), '--dpi', '40'])
    assert result['points'] == {'20261202_155357': {'loss': 3, 'loss_lm': 3,
                                                    'stvg/gt_vIoU': 2}}
    assert cv2.imread(str(out)).shape[:2] == (312, 280)  # (2.4 * 3 + 0.6, 7) in at 40 dpi
