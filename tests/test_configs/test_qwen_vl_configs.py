"""The Qwen2.5-VL configs train, test and parse at reduced width.

Both configs are built through their own part types from a reduced-width
Qwen2.5-VL checkpoint written by ``save_pretrained`` (the real tower
architecture, the real Qwen2 tokenizer) with the one override
``config_overrides.shrink_qwen_vl``; HC-STVG v1 16:9 videos at 25 fps.
"""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mmstvg.models.grounders.video_grounding_llm as grounder_module
from mmstvg.engine.runner_builder import build_runner
from tests.fixtures.hcstvg_videos import write_hcstvg_16x9
from tests.test_configs.config_overrides import (FULL_SIZE_FRAMES, shrink_qwen_vl,
                                                 write_qwen2_5_vl_checkpoint)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
ANSWER = 'The event happens from 0.4 to 1.2 seconds.'


@pytest.fixture(scope='module')
def assets(tmp_path_factory, qwen2_tokenizer_dir):
    root = tmp_path_factory.mktemp('qwen_vl')
    qwen = write_qwen2_5_vl_checkpoint(str(root / 'Qwen2.5-VL-7B-Instruct'),
                                       qwen2_tokenizer_dir)
    data = str(root / 'hcstvg_16x9') + '/'
    write_hcstvg_16x9(data, num_train=4, num_test=2, size=(96, 54), fps=25.0)
    return dict(qwen=qwen, data=data)


def test_qwen2_5_vl_text_box_baseline_builds(assets, tmp_path):
    # Its train / test run is the SpaceVLLM one's minus the heads, at 5x the
    # CPU time (boxes as text: ~250 answer tokens a sample); built here.
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, 'baselines/text_boxes_qwen2_5_vl_hcstvg.py'))
    shrink_qwen_vl(cfg, assets['qwen'], assets['data'], str(tmp_path / 'work'))
    model = build_runner(cfg).model
    assert type(model).__name__ == 'TextBoxGroundingLLM'
    assert type(model.query_interleaver).__name__ == 'NoQueries'
    assert model.space_decoder is None
    assert type(model.llm).__name__ == 'QwenVLCausalLM'
    assert type(model.projector).__name__ == 'IdentityProjector'


@pytest.mark.parametrize('name, types', [
    ('spacevllm_qwen2_5_vl_hcstvg.py',
     ('VideoGroundingLLM', 'InterleavedQueries', 'QueryGuidedSpaceDecoder')),
])
def test_qwen2_5_vl_config_trains_tests_and_parses(name, types, assets, tmp_path,
                                                   monkeypatch):
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, name))
    assert cfg.model.llm.pretrained_model_name_or_path == 'checkpoints/Qwen2.5-VL-7B-Instruct'
    assert cfg.model.llm.dtype == 'bf16' and cfg.model.llm.gradient_checkpointing
    shrink_qwen_vl(cfg, assets['qwen'], assets['data'], str(tmp_path / 'work'), max_iters=3)
    cfg.model.max_new_tokens = 8  # CPU time: a random model rarely stops early
    runner = build_runner(cfg)
    model = runner.model
    assert (type(model).__name__, type(model.query_interleaver).__name__,
            type(model.space_decoder).__name__ if model.space_decoder else None) == types
    assert type(model.vision_encoder).__name__ == 'QwenVLVisionEncoder'
    assert type(model.llm).__name__ == 'QwenVLCausalLM'
    assert model.llm.hf_model.model.visual is None  # the tower lives in the vision part
    assert len(model.llm.tokenizer) == 151646
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    runner.train()
    hub = runner.message_hub
    losses = {k: hub.get_scalar(k).data[0] for k in hub.log_scalars
              if k.startswith('train/loss')}
    assert 'train/loss_lm' in losses
    if model.space_decoder is not None:
        assert {'train/loss_bbox', 'train/loss_iou'} <= set(losses)
    for key, history in losses.items():
        assert len(history) == 3 and all(math.isfinite(v) for v in history), key
    moved = {n.split('.')[0] for n, p in model.named_parameters()
             if n in before and not torch.equal(before[n], p.detach())}
    assert 'llm' in moved

    metrics = runner.test()  # real greedy generation with M-RoPE positions
    assert metrics['stvg/num_samples'] == 2
    assert all(math.isfinite(metrics[k]) for k in ('stvg/m_tIoU', 'stvg/m_vIoU'))

    # Once more with the answer fixed: the real tokenizer's multi-token times
    # are decoded, parsed and mapped to frames at 25 fps.
    answer_ids = model.llm.tokenizer(ANSWER, add_special_tokens=False).input_ids
    monkeypatch.setattr(grounder_module, 'greedy_generate',
                        lambda llm, hidden, cache, mask, active, *args, **kw: [
                            list(answer_ids) if a else [] for a in active])
    seen = []
    predict = model.predict

    def recording_predict(inputs, data_samples):
        out = predict(inputs, data_samples)
        seen.extend(out)
        return out

    model.predict = recording_predict
    runner.test()
    assert len(seen) == 2
    for sample in seen:
        assert sample.pred_span_seconds.tolist() == pytest.approx([0.4, 1.2])
        assert sample.pred_span_frames.tolist() == [10, 30]
        assert sample.num_sampled_frames == FULL_SIZE_FRAMES
        if model.space_decoder is not None:
            assert sample.pred_parse_ok
            assert sample.pred_boxes.shape == (FULL_SIZE_FRAMES, 4)
