"""``tools/analysis_tools/probe_frame_times.py``: the *when* probe.

The span helpers are checked on hand-made masks whose answers are exact; the
tool runs end to end on the scratch SpaceVLLM at tiny size (as in
test_probe_token_positions.py), and its figures are checked for range and
shape only: their values are a trained model's float path.
"""
import json
import math

import numpy as np
import pytest
import torch

from tests.test_tools.test_probe_token_positions import tiny_toy_config, toy_assets  # noqa: F401
from tools.analysis_tools.probe_frame_times import SOURCES, longest_run, main, set_iou


def test_longest_run():
    mask = np.array([True, False, True, True, True, False, True, True])
    assert longest_run(mask).tolist() == [False, False, True, True, True, False, False, False]
    # a tie keeps the first run; a run to the end counts
    assert longest_run(np.array([True, True, False, True, True])).tolist() == [
        True, True, False, False, False]
    assert longest_run(np.array([False, True, True])).tolist() == [False, True, True]
    assert not longest_run(np.zeros(4, dtype=bool)).any()


def test_set_iou():
    a = np.array([True, True, False, False])
    b = np.array([False, True, True, False])
    assert set_iou(a, b) == pytest.approx(1 / 3)
    assert set_iou(a, a) == 1.0
    assert set_iou(np.zeros(3, bool), np.zeros(3, bool)) == 1.0
    assert set_iou(a, np.zeros(4, bool)) == 0.0


def test_probe_frame_times_end_to_end(toy_assets, tmp_path):  # noqa: F811
    torch.manual_seed(0)
    config = tiny_toy_config(toy_assets, str(tmp_path / 'toy.py'), llava_pooling=True)
    out = str(tmp_path / 'when.json')
    returned = main([config, '--num-videos', '4', '--batch-size', '2', '--device', 'cpu',
                     '--out', out])
    with open(out) as f:
        results = json.load(f)
    assert (results['num_videos'], results['num_heldout_videos']) == (4, 1)
    assert 0 <= results['prior_span_iou'] <= 1
    hidden = 64  # the tiny LLM's width
    vision = returned['vision']['dim']
    assert returned['query']['dim'] == returned['frame_mean']['dim'] == hidden
    assert returned['vision_motion']['dim'] == 2 * vision
    for name, _ in SOURCES:
        res = results[name]
        assert 0 <= res['span_iou'] <= 1
        # one held-out video may hold frames of one class only: AUC undefined
        assert res['auc'] is None or 0 <= res['auc'] <= 1
        assert res['span_iou'] == pytest.approx(returned[name]['span_iou'])
        if res['auc'] is not None:
            assert math.isfinite(returned[name]['auc'])
