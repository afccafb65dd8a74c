"""``configs/spacevllm_tiny.py`` is the full-size recipe (``configs/spacevllm_hcstvg.py``)
with only sizes, paths, precision and the schedule changed: the two configs differ in
exactly the keys listed here, so a change to the full-size model reaches the tiny one."""
import os.path as osp
from typing import Any, Dict

from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FULL = osp.join(REPO_ROOT, 'configs', 'spacevllm_hcstvg.py')
TINY = osp.join(REPO_ROOT, 'configs', 'spacevllm_tiny.py')

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


def test_tiny_recipe_differs_from_full_size_in_exactly_the_listed_keys():
    full, tiny = Config.fromfile(FULL), Config.fromfile(TINY)
    differ = differing_keys(full, tiny)
    listed = MODEL_OVERRIDES | DATA_OVERRIDES | SCHEDULE_OVERRIDES
    assert differ - listed == set(), 'the tiny config changes keys nobody listed'
    assert listed - differ == set(), 'listed keys the tiny config no longer changes'
    model_keys = {k for k in differ if k.startswith('model.')}
    assert model_keys == {k for k in MODEL_OVERRIDES if k.startswith('model.')}


def test_tiny_recipe_builds_the_papers_parts():
    tiny = Config.fromfile(TINY).model
    assert tiny.type == 'VideoGroundingLLM'
    assert tiny.query_interleaver.type == 'InterleavedQueries'
    assert tiny.space_decoder.type == 'QueryGuidedSpaceDecoder'
    assert tiny.prompt.template == 'qwen_1_5'
    assert tiny.vision_encoder['freeze'] is True
    assert tiny.feature_pooler.type == 'LlavaFeaturePooler'
    assert 'answer' not in tiny  # the grounder's default: SpanAnswer


def test_flatten_and_difference_see_nested_changes():
    a = Config(dict(model=dict(x=1, parts=[dict(y=2)]), keep=3))
    b = Config(dict(model=dict(x=1, parts=[dict(y=5)]), extra=1, keep=3))
    assert differing_keys(a, b) == {'model.parts.0.y', 'extra'}
