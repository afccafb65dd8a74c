# HC-STVG v1: the provider's raw json (train.json / test.json) and videos.
# Edit `data_root` to your copy. `st_frame_base=1` follows the provider's
# README (st_frame is 1-based, like STCAT); 0 reproduces TubeDETR's reading.
# `num_frames` is overridden by model configs (SpaceVLLM: 64); the sampler is
# at index 1 of every pipeline.
dataset_type = 'HCSTVGDataset'
data_root = 'data/hcstvg_v1/'
num_frames = 64
img_scale = (384, 384)

train_pipeline = [
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=False),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=True),
    dict(type='GroundingRandomFlip', prob=0.5),
    dict(type='GroundingPad', size=img_scale),
    dict(type='PackGroundingInputs'),
]
test_pipeline = [
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=True),
    dict(type='GroundingPad', size=img_scale),
    dict(type='PackGroundingInputs'),
]

train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annos/hcstvg_v1/train.json',
        data_prefix=dict(video='v1_video'),
        st_frame_base=1,
        on_bad_sample='skip',
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annos/hcstvg_v1/test.json',
        data_prefix=dict(video='v1_video'),
        st_frame_base=1,
        test_mode=True,
        pipeline=test_pipeline))
# HC-STVG v1 has no validation split: validation runs on the test split.
val_dataloader = test_dataloader

val_evaluator = dict(type='STVGMetric', protocol='tubedetr')
test_evaluator = val_evaluator
