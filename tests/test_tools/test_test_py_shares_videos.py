"""Issue 31: ``tools/test.py`` with the sentences of a video segment batched together.

On a VidSTG-shaped set (TubeDETR's converted ``{"videos", "trajectories"}``
file, as ``tools/dataset_converters/vidstg.py`` writes it) with several
sentences per segment, the grouped run (``SharedVideoSampler`` +
``SharedVideoBatchSampler`` + ``model.share_video``) must give every sentence
the span and boxes of the plain run (``DefaultSampler``, no sharing), and so
the same metrics per sentence type.
"""
import json

import numpy as np
import pytest

from mmstvg.models.grounders.video_grounding_llm import VideoGroundingLLM

from tests.test_datasets.conftest import write_json, write_video
from tests.test_reliability.conftest import call_main, grounder_checkpoint  # noqa: F401
from tests.test_apis.conftest import synthetic_root, tiny_cfg  # noqa: F401


def _sentence(vid, caption, qtype, start, end, path):
    return dict(original_video_id=vid, video_id=None, caption=caption, qtype=qtype,
                type='person', target_id=1, frame_count=24, fps=8.0, width=32, height=32,
                start_frame=start, end_frame=end, tube_start_frame=start + 2,
                tube_end_frame=end - 3, video_path=path)


@pytest.fixture
def vidstg_root(tmp_path):
    root = tmp_path / 'vidstg'
    rng = np.random.default_rng(0)
    for vid in ('111', '222'):
        (root / 'video' / vid).mkdir(parents=True)
        write_video(str(root / 'video' / vid / f'{vid}.mp4'), num_frames=24,
                    frames=rng.integers(0, 255, (24, 32, 32, 3), dtype=np.uint8), fps=8.0)
    videos = [  # segments' sentences interleaved in the file, as in VidSTG's
        _sentence('111', 'a man holds a cup', 'declarative', 2, 20, '111/111.mp4'),
        _sentence('222', 'what does the child hold?', 'interrogative', 0, 24, '222/222.mp4'),
        _sentence('111', 'who holds the cup?', 'interrogative', 2, 20, '111/111.mp4'),
        _sentence('111', 'the man walks away', 'declarative', 6, 22, '111/111.mp4'),
        _sentence('111', 'a woman sits', 'declarative', 2, 20, '111/111.mp4'),
        _sentence('222', 'a child runs', 'declarative', 0, 24, '222/222.mp4'),
    ]
    for index, video in enumerate(videos):
        video['video_id'] = index
    boxes = {str(f): dict(bbox=[2 + f % 5, 3, 12, 14], generated=0, tracker=0,
                          category_id=1) for f in range(24)}
    write_json(str(root / 'test.json'), dict(
        videos=videos, trajectories={'111': {'1': boxes}, '222': {'1': boxes}}))
    return root


def _config(tiny_cfg, root, path, grouped):  # noqa: F811
    cfg = tiny_cfg.copy()
    dataset = dict(cfg.test_dataloader.dataset, type='VidSTGDataset', data_root=str(root),
                   ann_file='test.json', data_prefix=dict(video='video'))
    loader = dict(batch_size=2, num_workers=0, collate_fn=dict(type='pseudo_collate'),
                  dataset=dataset)
    if grouped:
        loader.update(sampler=dict(type='SharedVideoSampler'),
                      batch_sampler=dict(type='SharedVideoBatchSampler'))
    else:
        loader.update(sampler=dict(type='DefaultSampler', shuffle=False))
    cfg.test_dataloader = loader
    cfg.model = dict(cfg.model, share_video=grouped)
    cfg.test_cfg = dict(type='TestLoop')
    cfg.test_evaluator = dict(type='STVGMetric', protocol='tubedetr')
    cfg.work_dir = str(path.parent / f'work_{grouped}')
    cfg.dump(str(path))
    return str(path)


def _run(tiny_cfg, root, checkpoint, tmp_path, grouped):  # noqa: F811
    config = _config(tiny_cfg, root, tmp_path / f'grouped_{grouped}.py', grouped)
    prefix = tmp_path / f'preds_{grouped}'
    metrics = tmp_path / f'metrics_{grouped}.json'
    call_main('test', [config, checkpoint, '--metrics-out', metrics,
                       '--out-prefix', prefix])
    [dump] = list(tmp_path.glob(f'preds_{grouped}.*.json'))
    return json.loads(metrics.read_text()), json.loads(dump.read_text())


def test_grouped_test_py_equals_the_plain_run(tiny_cfg, vidstg_root,  # noqa: F811
                                              grounder_checkpoint, tmp_path,  # noqa: F811
                                              monkeypatch):
    shared_groups = []
    real = VideoGroundingLLM._predict_shared

    def counting(self, inputs, data_samples):
        shared_groups.append(sorted(s.metainfo['sample_id'] for s in data_samples))
        return real(self, inputs, data_samples)

    monkeypatch.setattr(VideoGroundingLLM, '_predict_shared', counting)
    plain_metrics, plain = _run(tiny_cfg, vidstg_root, grounder_checkpoint, tmp_path, False)
    assert shared_groups == []
    grouped_metrics, grouped = _run(tiny_cfg, vidstg_root, grounder_checkpoint, tmp_path,
                                    True)
    # the segment 111 [2, 20) has three sentences, 222 two; 111 [6, 22) one
    assert shared_groups == [['111#0', '111#2', '111#4'], ['222#1', '222#5']]
    assert any('declarative' in key for key in plain_metrics)
    assert any('interrogative' in key for key in plain_metrics)
    assert set(grouped_metrics) == set(plain_metrics)
    for key, value in plain_metrics.items():
        assert grouped_metrics[key] == pytest.approx(value, abs=1e-4), key
    by_id = {p['sample_id']: p for p in grouped['samples']}
    assert len(plain['samples']) == 6 and len(by_id) == 6
    for p in plain['samples']:
        g = by_id[p['sample_id']]
        assert g['pred_text'] == p['pred_text']
        assert g['pred_span_frames'] == p['pred_span_frames']
        np.testing.assert_allclose(g['pred_span_seconds'], p['pred_span_seconds'])
        np.testing.assert_allclose(np.asarray(g['pred_boxes'], dtype=float),
                                   np.asarray(p['pred_boxes'], dtype=float), atol=1e-3)
        for name, score in p['scores'].items():
            assert g['scores'][name] == pytest.approx(score, abs=1e-4), name
