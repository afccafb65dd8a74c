# Charades-STA (temporal grounding): charades_sta_{train,test}.txt
# ("VID start end##sentence") and the Charades videos (480p mp4).
# `meta_file` ({VID: {length, num_frames, fps, height, width}}) is written once
# from the split files and Charades_v1_{train,test}.csv by
#   python tools/dataset_converters/charades_sta.py charades_sta_train.txt \
#       charades_sta_test.txt --csv Charades_v1_train.csv Charades_v1_test.csv \
#       --video-dir Charades_v1_480 --out video_meta.json
# (see docs/en/dataset_prepare.md). Spans are clipped to the csv `length`
# (2D-TAN's protocol; clip_end_to='video' clips to the decoded video).
# Edit `data_root`.
# `num_frames` is overridden by model configs; the sampler is at index 1.
dataset_type = 'CharadesSTADataset'
data_root = 'data/charades_sta/'
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
        ann_file='charades_sta_train.txt',
        meta_file='video_meta.json',
        clip_end_to='auto',
        data_prefix=dict(video='Charades_v1_480'),
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
        ann_file='charades_sta_test.txt',
        meta_file='video_meta.json',
        clip_end_to='auto',
        data_prefix=dict(video='Charades_v1_480'),
        test_mode=True,
        pipeline=test_pipeline))
val_dataloader = test_dataloader

val_evaluator = dict(type='TemporalGroundingMetric')
test_evaluator = val_evaluator
