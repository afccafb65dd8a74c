# Stage 2 of the small base, three times as long (2,400 iterations against 800):
# the experiment of issue 29 on whether the base learns *when* with more
# instruction tuning (docs/en/base_pretraining.md, "What is left").
_base_ = ['./llava_video_tiny_stage2_sft.py']

max_iters = 2400
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters,
         eta_min_ratio=0.05)
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=max_iters, by_epoch=False,
                    max_keep_ckpts=1))
