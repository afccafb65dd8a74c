"""The grounder's ``heads`` and ``logits_processors`` lists, built from configs."""
import pytest
import torch
from mmengine.config import Config, DictAction

from mmstvg.models.grounders.frame_heads import chain_processors
from mmstvg.registry import MODELS
import projects.spacevllm.spacevllm.addons  # noqa: F401  (registers QuerySpanScoreHead)


def test_a_head_is_named_by_its_part_and_a_bare_type_name_is_a_config(grounder_cfg):
    # what `--cfg-options model.heads=[QuerySpanScoreHead]` (run_ablation.sh) gives
    cfg = Config(dict(model=grounder_cfg))
    cfg.merge_from_dict({'model.heads': DictAction._parse_iterable('[QuerySpanScoreHead]')})
    model = MODELS.build(cfg.model)
    assert model.head_names == ['frame_score_head'] and model.processor_names == []
    assert type(model.frame_score_head).__name__ == 'QuerySpanScoreHead'
    assert model.frame_score_head.hidden_dim == model.llm.hidden_size
    assert any(k.startswith('frame_score_head.') for k in model.state_dict())
    assert 'frame_score_head' in model.part_names


def test_two_parts_of_one_name_are_refused(grounder_cfg):
    with pytest.raises(ValueError, match="already has"):
        MODELS.build(dict(grounder_cfg, heads=['QuerySpanScoreHead', 'QuerySpanScoreHead']))


def test_a_configured_head_is_frozen_once_built(grounder_cfg):
    model = MODELS.build(dict(grounder_cfg, heads=['QuerySpanScoreHead'],
                              freeze_parts=['frame_score_head']))
    assert not any(p.requires_grad for p in model.frame_score_head.parameters())
    assert all(p.requires_grad for p in model.space_decoder.parameters())


def test_processors_apply_in_order():
    assert chain_processors([]) is None
    add = lambda logits, states, rows: logits + 1  # noqa: E731
    double = lambda logits, states, rows: logits * 2  # noqa: E731
    assert chain_processors([add]) is add
    out = chain_processors([add, double])(torch.zeros(2), None, None)
    assert out.tolist() == [2.0, 2.0]
