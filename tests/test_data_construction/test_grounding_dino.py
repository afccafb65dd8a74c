"""mmdet's Grounding-DINO, tiny and random, through GroundingDINODetector."""
import numpy as np
import pytest
import torch

from mmstvg.data_construction import GroundingDINODetector, load_detector_weights
from mmstvg.registry import GROUNDING_DETECTORS


def frames(count=3, size=(48, 64), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(*size, 3), dtype=np.uint8) for _ in range(count)]


@pytest.fixture(scope='module')
def detector_and_weights(tiny_gdino, tmp_path_factory):
    torch.manual_seed(1)
    detector = GROUNDING_DETECTORS.build(dict(
        type='GroundingDINODetector', config=tiny_gdino['config'],
        text_encoder_path=tiny_gdino['bert'], score_thr=0.0, batch_size=2,
        scale=(48, 64), device='cpu'))
    weights = str(tmp_path_factory.mktemp('gdino_weights') / 'tiny_gdino.pth')
    torch.save(dict(state_dict=detector.model.state_dict(), meta=dict(epoch=1)), weights)
    return detector, weights


def test_tiny_grounding_dino_detects_in_original_pixels(detector_and_weights):
    detector, _ = detector_and_weights
    assert type(detector.model).__name__ == 'GroundingDINO'
    assert type(detector.model.language_model).__name__ == 'BertModel'
    results = detector.detect(frames(), 'the red circle')
    assert len(results) == 3
    for result in results:
        assert len(result) == 10  # threshold 0: max_per_img boxes
        assert np.all(np.diff(result.scores) <= 0)
        assert np.all(result.boxes >= 0)
        assert np.all(result.boxes[:, 0::2] <= 64) and np.all(result.boxes[:, 1::2] <= 48)


def test_checkpoint_reload_threshold_and_batching(detector_and_weights, tiny_gdino):
    detector, weights = detector_and_weights
    reference = detector.detect(frames(), 'the blue square')
    torch.manual_seed(123)  # a different random init, replaced by the weights
    reloaded = GroundingDINODetector(
        tiny_gdino['config'], checkpoint=weights, text_encoder_path=tiny_gdino['bert'],
        score_thr=0.0, batch_size=3, scale=(48, 64), device='cpu')
    assert load_detector_weights(reloaded.model, weights) == ([], [])
    again = reloaded.detect(frames(), 'the blue square')
    for a, b in zip(reference, again):
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-4)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)
    # The threshold keeps exactly the boxes scored at least that much.
    threshold = float(np.median(np.concatenate([r.scores for r in reference])))
    detector.score_thr = threshold
    try:
        thresholded = detector.detect(frames(), 'the blue square')
    finally:
        detector.score_thr = 0.0
    for full, kept in zip(reference, thresholded):
        keep = full.scores >= threshold
        np.testing.assert_array_equal(kept.scores, full.scores[keep])
        np.testing.assert_array_equal(kept.boxes, full.boxes[keep])
    assert 0 < sum(len(k) for k in thresholded) < sum(len(r) for r in reference)


def test_weights_with_objects_are_refused(detector_and_weights, tmp_path):
    detector, _ = detector_and_weights
    unsafe = str(tmp_path / 'unsafe.pth')
    torch.save(dict(state_dict={}, meta=dict(fn=np.random.default_rng)), unsafe)
    with pytest.raises(ValueError, match='weights_only'):
        load_detector_weights(detector.model, unsafe)
    with pytest.raises(FileNotFoundError):
        load_detector_weights(detector.model, str(tmp_path / 'missing.pth'))
