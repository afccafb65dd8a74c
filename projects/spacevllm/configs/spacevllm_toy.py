# The toy, the README's main job (`make toy`): the full-size recipe
# (configs/spacevllm_hcstvg.py: VideoGroundingLLM + InterleavedQueries + the
# QGSD with reference points + SpanAnswer with its span from per-frame scores
# (QuerySpanScoreHead + FrameScoreSpanWriter), the qwen_1_5 prompt, a frozen tower
# read at the base's layer, LLaVA-Video's pooling) at tiny width, on a small
# base video LLM pretrained here (tools/run_base_pretrain.sh:
# configs/base_pretrain/, exported in lmms-lab's llava_qwen layout), trained
# on the synthetic STVG set on CPU. It overrides only the keys that
# tests/test_configs/test_toy_recipe.py lists (model, data, schedule); that
# test fails when the two configs differ anywhere else.
_base_ = ['./spacevllm_hcstvg.py']

# ------------------------------------------------------------ the base (paths)
# Written by tools/run_base_pretrain.sh: configs/base_pretrain/ stage 1 + 2,
# then tools/model_converters/export_llava_qwen.py. Its config.json sets the
# widths (tower 64, LLM 128), the tower's layer and the pooling.
llava_onevision_path = 'data/pretrained/llava_video_tiny'

# ------------------------------------------------- precision and frame count
model = dict(
    # fp32 on CPU: bf16 is fast only where the CPU has bf16 units, and its
    # rounding would differ between CPU kinds.
    vision_encoder=dict(dtype='fp32'),
    llm=dict(dtype='fp32', gradient_checkpointing=False),
    query_interleaver=dict(max_frames=16),
    llava_onevision_path=llava_onevision_path)

# ------------------------------------------------------------ data (the set)
data_root = 'data/synthetic_stvg/'
num_frames = 16
img_scale = (64, 64)  # the base's tower input (64 px, 8 px patches)
train_pipeline = [
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=False),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=False,
         interpolation='bicubic'),
    dict(type='GroundingRandomFlip', prob=0.5),
    dict(type='ChooseQuestionTemplate'),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=True),
]
test_pipeline = [
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=False,
         interpolation='bicubic'),
    dict(type='ChooseQuestionTemplate'),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=False),
]
synthetic_split = dict(data_root=data_root, data_prefix=dict(video='videos'),
             dataset_name='synthetic_stvg')
train_dataloader = dict(
    batch_size=4, num_workers=2,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(ann_file='annotations/hcstvg_v1_train.json', on_bad_sample='error',
                 pipeline=train_pipeline, **synthetic_split))
# Checkpoints are chosen on val and reported on test (HC-STVG v1 itself has
# no val split, so the full-size recipe validates on test).
val_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(ann_file='annotations/hcstvg_v1_val.json', pipeline=test_pipeline,
                 **synthetic_split))
test_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(ann_file='annotations/hcstvg_v1_test.json', pipeline=test_pipeline,
                 **synthetic_split))

# ---------------------------------------------------------------- schedule
max_iters = 3000
val_interval = 1500
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=val_interval)
# The recipe's optimizer, clipping and per-part rates, in fp32 (no autocast)
# and at a higher base rate for the small batch and short schedule.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0),
    clip_grad=dict(max_norm=1.0),
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters,
         eta_min_ratio=0.05)
]
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=val_interval, by_epoch=False))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
