"""The trivial baseline sees what the model sees: VidSTG's clip, not the
whole video; printed beside the model's figures."""
import importlib.util
import json
import os.path as osp

import pytest

from test_other_datasets import vidstg_annotations  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'trivial_baseline',
        osp.join(REPO, 'tools', 'analysis_tools', 'trivial_baseline.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vidstg_trivial_span_is_the_clip(tmp_path, helpers, capsys):
    (tmp_path / 'video' / '0001').mkdir(parents=True)
    helpers['write_video'](str(tmp_path / 'video' / '0001' / '123.mp4'))
    ann = helpers['write_json'](str(tmp_path / 'test.json'),
                                vidstg_annotations(track_frames=range(2, 18)))
    pipeline = [dict(type='GroundingDecordInit'),
                dict(type='UniformSampleFrames', num_frames=8, test_mode=True),
                dict(type='GroundingDecordDecode'),
                dict(type='LoadGroundingAnnotations'),
                dict(type='PackGroundingInputs')]
    config = tmp_path / 'cfg.py'
    config.write_text(
        f'test_dataloader = dict(dataset=dict(type="VidSTGDataset", '
        f'ann_file={ann!r}, data_prefix=dict(video={str(tmp_path / "video")!r}),'
        f' test_mode=True, pipeline={pipeline!r}))\n'
        'test_evaluator = dict(type="STVGMetric", protocol="tubedetr")\n')
    model = helpers['write_json'](str(tmp_path / 'model.json'),
                                  {'stvg/m_tIoU': 50.0, 'stvg/num_samples': 2})
    metrics = load_tool().main([str(config), '--beside', model,
                                '--out', str(tmp_path / 'trivial.json')])
    # GT [6, 9) inside the clip [2, 18) of a 20-frame video: tIoU 3 / 16
    # (3 / 20 if the whole video were predicted).
    assert metrics['stvg/m_tIoU'] == pytest.approx(100 * 3 / 16)
    assert json.load(open(tmp_path / 'trivial.json')) == metrics
    captured = capsys.readouterr()
    assert '2/2, ' in captured.err  # mmengine's progress bar (2 samples), on stderr
    table = captured.out.splitlines()[-2:]
    assert table[0].split() == ['metric', 'model', 'trivial']
    assert table[1].split() == ['stvg/m_tIoU', '50.00', '18.75']
