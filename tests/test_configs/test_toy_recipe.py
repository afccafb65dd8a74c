"""``configs/spacevllm_toy.py`` (the README's main job) is the full-size recipe (``configs/spacevllm_hcstvg.py``)
with only sizes, paths, precision and the schedule changed: the two configs differ in
exactly the keys listed here, so a change to the full-size model reaches the toy.
The same holds for the paper's pair (the ablation's reference row)."""
import os.path as osp
from typing import Any, Dict

import pytest
from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FULL = osp.join(REPO_ROOT, 'configs', 'spacevllm_hcstvg.py')
TOY = osp.join(REPO_ROOT, 'configs', 'spacevllm_toy.py')
PAPER_FULL = osp.join(REPO_ROOT, 'configs', 'spacevllm_paper_hcstvg.py')
PAPER_TOY = osp.join(REPO_ROOT, 'configs', 'spacevllm_paper_toy.py')

#: Where the two models differ: the base's path (its config.json gives the
#: widths, the tower's layer and the pooling), fp32 on CPU, and the frame count.
MODEL_OVERRIDES = {
    'model.llava_onevision_path', 'llava_onevision_path',
    'model.vision_encoder.dtype', 'model.llm.dtype', 'model.llm.gradient_checkpointing',
    'model.query_interleaver.max_frames',
}
#: The data: the synthetic set's files, 16 frames of 64 px, a CPU batch, val != test.
DATA_OVERRIDES = {'data_root', 'num_frames', 'img_scale', 'synthetic_split.data_root',
                  'synthetic_split.data_prefix.video', 'synthetic_split.dataset_name'} | {
    f'{pipeline}_pipeline.{key}' for pipeline in ('train', 'test')
    for key in ('1.num_frames', '4.scale')} | {
    f'{loader}_dataloader.{key}' for loader in ('train', 'val', 'test')
    for key in ('batch_size', 'num_workers', 'dataset.ann_file', 'dataset.data_prefix.video',
                'dataset.data_root', 'dataset.dataset_name', 'dataset.pipeline.1.num_frames',
                'dataset.pipeline.4.scale')} | {
    'train_dataloader.sampler.type', 'train_dataloader.dataset.on_bad_sample'}
#: The schedule: iterations instead of epochs, fp32, a CPU learning rate.
SCHEDULE_OVERRIDES = {
    'max_iters', 'val_interval', 'train_cfg.type', 'train_cfg.max_epochs',
    'train_cfg.max_iters', 'train_cfg.val_interval', 'optim_wrapper.type',
    'optim_wrapper.dtype', 'optim_wrapper.optimizer.lr', 'param_scheduler.0.end',
    'param_scheduler.1.begin', 'param_scheduler.1.end', 'param_scheduler.1.by_epoch',
    'param_scheduler.1.convert_to_iter_based', 'param_scheduler.1.eta_min_ratio',
    'log_processor.by_epoch', 'default_hooks.checkpoint.interval',
    'default_hooks.checkpoint.by_epoch', 'default_hooks.logger.interval',
    'env_cfg.dist_cfg.backend'}


def flatten(node: Any, prefix: str = '') -> Dict[str, Any]:
    """``{'a.b.0.c': value}`` for every leaf (a list of scalars is one leaf)."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, (list, tuple)) and any(isinstance(v, (dict, list, tuple))
                                                 for v in node):
        items = enumerate(node)
    else:
        return {prefix: node}
    out = {}
    for key, value in items:
        out.update(flatten(value, f'{prefix}.{key}' if prefix else str(key)))
    return out


def differing_keys(first: Config, second: Config) -> set:
    a, b = flatten(first.to_dict()), flatten(second.to_dict())
    missing = object()
    return {k for k in set(a) | set(b) if a.get(k, missing) != b.get(k, missing)}


@pytest.mark.parametrize('full_path,toy_path', [(FULL, TOY), (PAPER_FULL, PAPER_TOY)])
def test_toy_differs_from_full_size_in_exactly_the_listed_keys(full_path, toy_path):
    full, toy = Config.fromfile(full_path), Config.fromfile(toy_path)
    differ = differing_keys(full, toy)
    listed = MODEL_OVERRIDES | DATA_OVERRIDES | SCHEDULE_OVERRIDES
    assert differ - listed == set(), 'the toy config changes keys nobody listed'
    assert listed - differ == set(), 'listed keys the toy config no longer changes'
    model_keys = {k for k in differ if k.startswith('model.')}
    assert model_keys == {k for k in MODEL_OVERRIDES if k.startswith('model.')}


def test_toy_builds_the_papers_parts_with_the_reference_grid():
    toy = Config.fromfile(TOY).model
    assert toy.type == 'VideoGroundingLLM'
    assert toy.query_interleaver.type == 'InterleavedQueries'
    assert toy.space_decoder.type == 'ReferencePointSpaceDecoder'
    assert toy.space_decoder.frame_token_grid == 'auto'
    assert toy.prompt.template == 'qwen_1_5'
    assert toy.vision_encoder['freeze'] is True
    assert toy.feature_pooler.type == 'LlavaFeaturePooler'
    assert 'answer' not in toy  # the grounder's default: SpanAnswer
    # *when* from per-frame scores on the decoder's states (ours), no scratch-model
    # options (time pointer, snapped answers)
    assert toy.heads == [dict(type='QuerySpanScoreHead', temporal_kernel=3)]
    assert toy.frame_state_source == 'space_decoder'
    assert toy.logits_processors == [dict(type='FrameScoreSpanWriter')]
    assert 'time_pointer' not in toy


#: What the paper's configs drop: our reference points and our span from scores.
OUR_ADDITIONS = {
    'model.space_decoder.type', 'model.space_decoder.frame_token_grid', 'model.heads',
    'model.heads.0.type', 'model.heads.0.temporal_kernel', 'model.frame_state_source',
    'model.logits_processors', 'model.logits_processors.0.type'}


def test_paper_configs_differ_from_the_default_only_in_our_additions():
    for default, paper in ((FULL, PAPER_FULL), (TOY, PAPER_TOY)):
        differ = differing_keys(Config.fromfile(default), Config.fromfile(paper))
        assert differ == OUR_ADDITIONS
        model = Config.fromfile(paper).model
        assert model.space_decoder.type == 'QueryGuidedSpaceDecoder'
        assert model.heads == [] and model.logits_processors == []
        assert model.frame_state_source == 'llm_queries'


def test_flatten_and_difference_see_nested_changes():
    a = Config(dict(model=dict(x=1, parts=[dict(y=2)]), keep=3))
    b = Config(dict(model=dict(x=1, parts=[dict(y=5)]), extra=1, keep=3))
    assert differing_keys(a, b) == {'model.parts.0.y', 'extra'}
