"""The linear-probe numbers and ``tools/analysis_tools/probe_token_positions.py``.

The numeric helpers are checked on hand-made arrays whose answers are exact;
the tool runs end to end on the toy SpaceVLLM (test overrides: tiny parts and
a tiny synthetic set in tmp_path), once as the toy config has it and once with
LLaVA-Video's pooling and a newline token after each row.
"""
import json
import math
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmstvg.datasets.synthetic import generate_synthetic_stvg
from mmstvg.evaluation.functional.linear_probe import (StreamingRidge, cell_box_overlap,
                                                       cell_centres, grid_token_indices,
                                                       r2_score, ridge_fit, roc_auc)
from tests.test_configs.config_overrides import (point_data_root, shrink_model,
                                                 shrink_pipelines)
from mmstvg.structures import GroundingDataSample
from tools.analysis_tools.probe_token_positions import (llm_grid, main, normalised_boxes,
                                                        video_batches)
from tools.misc.create_toy_pretrained import create_toy_pretrained

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOL = 1e-6


# ------------------------------------------------------------ grid targets
def test_grid_token_indices_drop_newlines():
    assert grid_token_indices(4, 2, 2).tolist() == [0, 1, 2, 3]
    assert grid_token_indices(6, 2, 2).tolist() == [0, 1, 3, 4]  # a newline per row
    assert grid_token_indices(5, 2, 2).tolist() == [0, 1, 2, 3]  # one after the frame
    assert grid_token_indices(12, 3, 3).tolist() == [0, 1, 2, 4, 5, 6, 8, 9, 10]
    with pytest.raises(ValueError, match='fit no known layout'):
        grid_token_indices(7, 2, 2)


def test_cell_centres_row_major():
    np.testing.assert_allclose(cell_centres(2, 4), [
        [0.125, 0.25], [0.375, 0.25], [0.625, 0.25], [0.875, 0.25],
        [0.125, 0.75], [0.375, 0.75], [0.625, 0.75], [0.875, 0.75]], atol=TOL)


def test_cell_box_overlap():
    boxes = np.array([[0.1, 0.1, 0.4, 0.4],   # inside the top-left cell
                      [0.4, 0.6, 0.6, 0.9],   # the bottom row, both columns
                      [0.0, 0.0, 0.5, 0.5],   # touches the other cells' edges only
                      [0.0, 0.0, 1.0, 1.0]])
    np.testing.assert_array_equal(cell_box_overlap(2, 2, boxes), [
        [True, False, False, False], [False, False, True, True],
        [True, False, False, False], [True, True, True, True]])
    assert cell_box_overlap(2, 2, boxes[1]).tolist() == [False, False, True, True]
    assert cell_box_overlap(2, 2, np.zeros((0, 4))).shape == (0, 4)


# ------------------------------------------------------------ ridge, R², AUC
def test_ridge_recovers_an_exact_linear_map():
    x = np.array([[0., 0.], [1., 0.], [0., 1.], [1., 1.], [2., 1.], [0., 3.]])
    y = np.stack([1 + 2 * x[:, 0] - 3 * x[:, 1], -x[:, 0] + 0.5], axis=1)
    model = ridge_fit(x, y, alpha=0.0)
    np.testing.assert_allclose(model.predict([[3., 2.], [-1., 0.]]),
                               [[1., -2.5], [-1., 1.5]], atol=TOL)
    # streamed in two batches: the same fit
    streamed = StreamingRidge().update(x[:4], y[:4]).update(x[4:], y[4:]).fit(0.0)
    np.testing.assert_allclose(streamed.predict(x), y, atol=TOL)


def test_ridge_shrinks_by_one_plus_alpha():
    # x = (-1, 0, 1), y = 2x: the standardised feature's Gram is n = 3, so the
    # slope shrinks by 1 / (1 + alpha): 2 -> 1 at alpha = 1.
    x = np.array([[-1.], [0.], [1.]])
    model = ridge_fit(x, 2 * x[:, 0], alpha=1.0)
    np.testing.assert_allclose(model.predict([[1.], [0.], [-2.]])[:, 0], [1., 0., -2.],
                               atol=TOL)


def test_ridge_ignores_a_constant_feature():
    x = np.array([[-1., 5.], [0., 5.], [1., 5.], [2., 5.]])
    model = ridge_fit(x, 3 * x[:, 0] + 1, alpha=0.0)
    np.testing.assert_allclose(model.predict([[4., 5.]])[:, 0], [13.], atol=TOL)
    assert float(model.coef[1, 0]) == 0.0


def test_r2_score():
    y = np.array([[1., 0.], [2., 0.], [3., 1.], [4., 1.]])
    pred = np.array([[1., 0.], [2., 0.], [3., 1.], [5., 0.]])
    # column 0: 1 - 1 / 5; column 1: 1 - 1 / 1
    np.testing.assert_allclose(r2_score(y, pred), [0.8, 0.0], atol=TOL)
    assert math.isnan(float(r2_score([1., 1.], [1., 2.])))


def test_roc_auc():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75, abs=TOL)
    assert roc_auc([0, 0, 1, 1], [1., 2., 2., 3.]) == pytest.approx(0.875, abs=TOL)
    assert roc_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5, abs=TOL)
    assert roc_auc([True, False, True], [3., 1., 2.]) == pytest.approx(1.0, abs=TOL)
    assert roc_auc([True, False, True], [0., 1., 0.]) == pytest.approx(0.0, abs=TOL)
    assert math.isnan(roc_auc([1, 1], [0.2, 0.3]))


def test_video_batches_keep_the_held_out_videos_apart():
    assert video_batches(4, 2) == [([0, 1], True), ([2], True), ([3], False)]
    assert video_batches(8, 4) == [([0, 1, 2, 3], True), ([4, 5], True), ([6, 7], False)]
    with pytest.raises(ValueError):
        video_batches(1, 4)


def test_llm_grid_follows_tower_and_pooler():
    pooler = SimpleNamespace(stride=2, mode='bilinear')
    model = SimpleNamespace(vision_encoder=SimpleNamespace(patch_size=14, pool_size=1),
                            feature_pooler=pooler, space_decoder=SimpleNamespace())
    # LLaVA-Video: 384 px, 27 x 27 patches -> 14 x 14, a newline after each row
    assert llm_grid(model, (384, 384), 14 * 15) == (14, 14)
    assert llm_grid(model, (384, 384), 14 * 14) == (14, 14)
    with pytest.raises(ValueError, match='fit no known layout'):
        llm_grid(model, (384, 384), 200)
    toy = SimpleNamespace(vision_encoder=SimpleNamespace(patch_size=8, pool_size=2),
                          feature_pooler=None, space_decoder=SimpleNamespace())
    assert llm_grid(toy, (64, 64), 16) == (4, 4)


def test_normalised_boxes_on_the_padded_input():
    # a 100 x 200 frame resized by 0.32 to 32 x 64, padded to 64 x 64
    sample = GroundingDataSample(metainfo=dict(ori_shape=(100, 200),
                                               scale_factor=(0.32, 0.32)))
    sample.gt_boxes = torch.tensor([[0., 0., 200., 100.], [50., 25., 100., 50.]])
    sample.gt_box_mask = torch.tensor([True, False])
    boxes, mask = normalised_boxes(sample, (64, 64))
    np.testing.assert_allclose(boxes, [[0, 0, 1, 0.5], [0.25, 0.125, 0.5, 0.25]], atol=TOL)
    assert mask.tolist() == [True, False]


# ------------------------------------------------------------ the tool
@pytest.fixture(scope='module')
def toy_assets(tmp_path_factory):
    """4 synthetic val videos of 32 px and toy parts with 4 px patches (8 x 8)."""
    root = tmp_path_factory.mktemp('probe_assets')
    data_root = str(root / 'synthetic')
    generate_synthetic_stvg(data_root, num_train=0, num_val=4, num_test=0, size=32,
                            frame_range=(8, 10), write_tvg=False, write_rec=False,
                            write_language=False)
    toy_dir = str(root / 'toy')
    info = create_toy_pretrained(toy_dir, image_size=32, patch_size=4, vision_hidden=32,
                                 llm_hidden=64, llm_layers=2, llm_heads=4,
                                 llm_kv_heads=2, max_positions=1024)
    return dict(data_root=data_root + '/', toy_dir=toy_dir, vocab_size=info['vocab_size'])


def tiny_toy_config(assets: dict, path: str, llava_pooling: bool) -> str:
    """configs/scratch/spacevllm_scratch.py on the tiny assets, written to ``path``.

    The toy pools 2 x 2 in its tower (a 4 x 4 grid, 16 tokens); with
    ``llava_pooling`` the tower does not pool and LLaVA-Video's pooler does,
    with a newline token after each row (4 x 5 = 20 tokens).
    """
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'scratch', 'spacevllm_scratch.py'))
    cfg.model = shrink_model(cfg.model, assets['toy_dir'], assets['toy_dir'] + '/tokenizer',
                             assets['vocab_size'], frame_token_grid=(4, 4))
    if llava_pooling:
        cfg.model.vision_encoder.pool_size = 1
        cfg.model.feature_pooler = dict(type='LlavaFeaturePooler', mode='bilinear',
                                        stride=2, newline='grid')
        cfg.model.space_decoder.frame_token_grid = None  # the QGSD reads all 20
    point_data_root(cfg, assets['data_root'])
    shrink_pipelines(cfg, num_frames=4, size=32)
    cfg.dump(path)
    return path


@pytest.mark.parametrize('llava_pooling', [False, True])
def test_probe_tool_end_to_end(toy_assets, tmp_path, llava_pooling):
    torch.manual_seed(0)
    config = tiny_toy_config(toy_assets, str(tmp_path / 'toy.py'), llava_pooling)
    out = str(tmp_path / 'probe.json')
    returned = main([config, '--num-videos', '4', '--batch-size', '2', '--device', 'cpu',
                     '--out', out])
    with open(out) as f:
        results = json.load(f)
    assert results['num_videos'] == 4
    assert (results['num_train_videos'], results['num_heldout_videos']) == (3, 1)
    assert results['llm']['grid'] == [4, 4]
    assert results['llm']['tokens_per_frame'] == (20 if llava_pooling else 16)
    # the tower's 8 x 8 patches are pooled only after it with LLaVA's pooler
    assert results['vision']['grid'] == ([8, 8] if llava_pooling else [4, 4])
    assert ('note' in results['vision']) == llava_pooling
    for name in ('llm', 'vision'):
        res = results[name]
        for key in ('position_r2', 'position_r2_x', 'position_r2_y', 'overlap_auc',
                    'overlap_auc_cell_prior', 'heldout_overlap_rate'):
            assert isinstance(res[key], float) and math.isfinite(res[key]), (name, key)
            assert res[key] == pytest.approx(returned[name][key])
        assert res['position_r2'] <= 1
        for key in ('overlap_auc', 'overlap_auc_cell_prior', 'heldout_overlap_rate'):
            assert 0 <= res[key] <= 1
        cells = res['grid'][0] * res['grid'][1]
        assert res['num_train_tokens'] == 3 * 4 * cells
        assert res['num_heldout_tokens'] == 4 * cells
        assert 0 < res['num_heldout_overlap_tokens'] <= res['num_heldout_tokens']
