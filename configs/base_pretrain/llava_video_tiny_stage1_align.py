# Stage 1 of the small base ("pretrain" in LLaVA's scripts): captions only, the
# tower frozen (the base's freeze=True). LLaVA trains the projector alone here because its LLM is
# already a language model; ours starts random, so the LLM learns the
# captions' language in this stage too (docs/en/base_pretraining.md).
# Then llava_video_tiny_stage2_sft.py.
#
#   python tools/misc/create_base_init.py configs/base_pretrain/llava_video_tiny_stage1_align.py
#   python tools/train.py configs/base_pretrain/llava_video_tiny_stage1_align.py
_base_ = ['./_base_/llava_video_tiny.py', '../_base_/default_runtime.py']

max_iters = 400
train_dataloader = dict(dataset=dict(data_sources=[{{_base_.caption_source}}]))
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters,
         eta_min_ratio=0.05)
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='CheckpointHook', interval=max_iters, by_epoch=False,
                    max_keep_ckpts=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
