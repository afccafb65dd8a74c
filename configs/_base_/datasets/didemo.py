# DiDeMo (temporal grounding, 5-second moments, ~4 annotators a sentence).
# annotations/{train,val,test}.json are written from the public
# {train,val,test}_data.json by
#   python tools/dataset_converters/didemo.py RAW.json OUT.json \
#       --video-dir data/didemo/videos --video-ext .mp4
# (see docs/en/dataset_prepare.md). Edit `data_root`.
# `num_frames` is overridden by model configs; the sampler is at index 1.
dataset_type = 'DiDeMoDataset'
data_root = 'data/didemo/'
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
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.json',
        data_prefix=dict(video='videos'),
        on_bad_sample='skip',
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/test.json',
        data_prefix=dict(video='videos'),
        test_mode=True,
        pipeline=test_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/val.json',
        data_prefix=dict(video='videos'),
        test_mode=True,
        pipeline=test_pipeline))

val_evaluator = dict(type='DiDeMoMetric')  # R1@0.5/0.7, mIoU (top-3 annotators)
test_evaluator = val_evaluator
