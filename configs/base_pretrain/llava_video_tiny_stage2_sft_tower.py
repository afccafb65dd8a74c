# Stage 2 of the small base with the tower trained at the full rate (not a
# fifth), from llava_video_tiny_stage1_align_tower.py's checkpoint (issue 29's
# experiment; docs/en/base_pretraining.md).
_base_ = ['./llava_video_tiny_stage2_sft.py']

load_from = 'work_dirs/llava_video_tiny_stage1_align_tower/iter_400.pth'
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'vision_encoder.': dict(lr_mult=1.0)}))
