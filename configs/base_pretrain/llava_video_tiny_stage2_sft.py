# Stage 2 of the small base (LLaVA's "finetune", LLaVA-Video's SFT): from the
# stage-1 projector, the projector and the LLM trained, the tower frozen, on
# the captions and the open QA. The result is exported with
#   python tools/model_converters/export_llava_qwen.py \
#       configs/base_pretrain/llava_video_tiny_stage2_sft.py \
#       work_dirs/llava_video_tiny_stage2_sft/iter_2000.pth data/pretrained/llava_video_tiny
# and loaded by grounding configs with model.llava_onevision_path.
_base_ = ['./_base_/llava_video_tiny.py', '../_base_/default_runtime.py']

stage1_iters = 1000
max_iters = 2000
lr = 5e-4  # a random tiny LLM learns language here (LLaVA-Video's 7B: 1e-5)
load_from = f'work_dirs/llava_video_tiny_stage1_align/iter_{stage1_iters}.pth'
model = dict(freeze_parts=['vision_encoder'])
train_cfg = dict(max_iters=max_iters)
optim_wrapper = dict(optimizer=dict(lr=lr))
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
