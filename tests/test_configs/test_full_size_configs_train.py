"""Full-size configs train and test at reduced width, from real-format files.

Through the one shared override (``config_overrides.shrink_full_size``): a
LLaVA-Video-7B-Qwen2 checkpoint in lmms-lab's ``llava_qwen`` layout (2
safetensors shards, the real Qwen2 tokenizer) written by the test, and an
HC-STVG v1 set of 16:9 videos at 25 fps in the provider's raw format. Each
config trains 5 iterations through MMEngine's Runner and is tested; the test
pass is repeated with the LLM's answer fixed, so the real tokenizer's
multi-token times are decoded, parsed and mapped to frames at 25 fps.
(Every full-size config is built from the same files in
``test_build_all_configs.py``; two representative ones run here: SpaceVLLM
and the text-box baseline.)
"""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmstvg.engine.runner_builder import build_runner
from tests.fixtures.hcstvg_videos import write_hcstvg_16x9
from tests.test_configs.config_overrides import (FULL_SIZE_FRAMES, shrink_full_size,
                                                 write_full_size_checkpoint)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
FPS = 25.0
ANSWER = 'The event happens from 0.4 to 1.2 seconds.'


@pytest.fixture(scope='module')
def assets(tmp_path_factory, qwen2_tokenizer_dir):
    root = tmp_path_factory.mktemp('full_size')
    llava = write_full_size_checkpoint(str(root / 'LLaVA-Video-7B-Qwen2'), qwen2_tokenizer_dir)
    data = str(root / 'hcstvg_16x9') + '/'
    write_hcstvg_16x9(data, num_train=4, num_test=2, size=(96, 54), fps=FPS)
    return dict(llava=llava, data=data)


@pytest.mark.parametrize('name', ['spacevllm_hcstvg.py', 'baselines/text_boxes_hcstvg.py'])
def test_full_size_config_trains_tests_and_parses(name, assets, tmp_path, monkeypatch):
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, name))
    shrink_full_size(cfg, assets['llava'], assets['data'], str(tmp_path / 'work'),
                     max_iters=5, cpu_fp32=True)
    runner = build_runner(cfg)
    model = runner.model
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
        assert len(history) == 5 and all(math.isfinite(v) for v in history), key
    moved = {n.split('.')[0] for n, p in model.named_parameters()
             if n in before and not torch.equal(before[n], p.detach())}
    assert {'llm', 'projector'} <= moved

    metrics = runner.test()
    assert metrics['stvg/num_samples'] == 2
    assert all(math.isfinite(metrics[k]) for k in ('stvg/m_tIoU', 'stvg/m_vIoU'))

    # Once more with the answer fixed: the real tokenizer writes "0.4" as three
    # tokens; decoding, parsing and the 25 fps frame mapping give [10, 30).
    answer_ids = model.llm.tokenizer(ANSWER, add_special_tokens=False).input_ids
    assert len(answer_ids) > 12
    from mmstvg.models.grounders import video_grounding_llm
    monkeypatch.setattr(video_grounding_llm, 'greedy_generate',
                        lambda llm, hidden, cache, mask, active, *args, **kwargs: [
                            list(answer_ids) if a else [] for a in active])
    seen = []
    predict = model.predict

    def recording_predict(inputs, data_samples):
        out = predict(inputs, data_samples)
        seen.extend(out)
        return out

    model.predict = recording_predict
    runner.test()
    assert len(seen) == 2 and all(sample.pred_parse_ok for sample in seen)
    for sample in seen:
        assert sample.pred_parse_ok and sample.metainfo['fps'] == FPS
        # the prompt was tokenized in the data pipeline (issue 30): build_runner
        # filled TokenizeGroundingPrompt with the model's config
        assert sample.metainfo['prompt_pieces'].with_answer is False
        assert sample.pred_span_seconds.tolist() == pytest.approx([0.4, 1.2])
        assert sample.pred_span_frames.tolist() == [10, 30]
        assert sample.num_sampled_frames == FULL_SIZE_FRAMES
        if model.space_decoder is not None:
            assert sample.pred_boxes.shape == (FULL_SIZE_FRAMES, 4)
