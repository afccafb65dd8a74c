# Stage 2 of the small base (LLaVA-Video's SFT): from stage 1, every part
# trained on the captions and the open QA, the tower at a fifth of the rate
# (LLaVA-OneVision tunes its tower at 2e-6 against the LLM's 1e-5). The result
# is exported with
#   python tools/model_converters/export_llava_qwen.py \
#       configs/base_pretrain/llava_video_tiny_stage2_sft.py \
#       work_dirs/llava_video_tiny_stage2_sft/iter_800.pth data/pretrained/llava_video_tiny
# and loaded by grounding configs with model.llava_onevision_path.
_base_ = ['./_base_/llava_video_tiny.py', '../_base_/default_runtime.py']

stage1_iters = 400
max_iters = 800
lr = 5e-4  # a tiny LLM still learning its language (LLaVA-Video's 7B: 1e-5)
load_from = f'work_dirs/llava_video_tiny_stage1_align/iter_{stage1_iters}.pth'
model = dict(vision_encoder=dict(freeze=False))
train_cfg = dict(max_iters=max_iters)
optim_wrapper = dict(
    optimizer=dict(lr=lr),
    paramwise_cfg=dict(custom_keys={'vision_encoder.': dict(lr_mult=0.2)}))
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
