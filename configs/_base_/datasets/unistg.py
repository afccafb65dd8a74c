# The Uni-STG mixture (SpaceVLLM's training data): STVG + TVG + REC at once.
# Each dataset keeps its own annotation format; the mixture gives every sample
# a prompt template of its task and repeats / subsamples each dataset by its
# ratio (round(ratio * len) samples per epoch). Edit the data roots.
# SpaceVLLM's Uni-STG has ~110K auto-made STVG, ~50K TVG and ~320K REC
# samples; the public parts are listed here, the ratios are a starting point.
# `num_frames` is overridden by model configs; the sampler is at index 1.
num_frames = 64
img_scale = (384, 384)

hcstvg_v1_root = 'data/hcstvg_v1/'
hcstvg_v2_root = 'data/hcstvg_v2/'
vidstg_root = 'data/vidstg/'
charades_root = 'data/charades_sta/'
didemo_root = 'data/didemo/'
tacos_root = 'data/tacos/'
refcoco_root = 'data/refcoco/'

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

prompt_templates = dict(
    stvg=[
        'When does "{sentence}" happen in the video, and where is it in each '
        'frame?',
        'Find the moment and the object described by: {sentence}',
    ],
    tvg=[
        'When does "{sentence}" happen in the video?',
        'Give the start and end time of: {sentence}',
    ],
    rec=[
        'Where is "{sentence}" in the image?',
        'Locate the object described by: {sentence}',
    ])

train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='UniSTGDataset',
        prompt_templates=prompt_templates,
        # HC-STVG v1, HC-STVG v2, VidSTG, Charades-STA, DiDeMo, TACoS,
        # RefCOCO, RefCOCO+, RefCOCOg
        ratios=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5],
        datasets=[
            dict(type='HCSTVGDataset', data_root=hcstvg_v1_root,
                 ann_file='annos/hcstvg_v1/train.json',
                 data_prefix=dict(video='v1_video'), on_bad_sample='skip',
                 pipeline=train_pipeline),
            dict(type='HCSTVGv2Dataset', data_root=hcstvg_v2_root,
                 ann_file='annos/hcstvg_v2/trainv2.json',
                 data_prefix=dict(video='v2_video'), on_bad_sample='skip',
                 pipeline=train_pipeline),
            dict(type='VidSTGDataset', data_root=vidstg_root,
                 ann_file='annotations/train.json',
                 data_prefix=dict(video='video'), on_bad_sample='skip',
                 pipeline=train_pipeline),
            dict(type='CharadesSTADataset', data_root=charades_root,
                 ann_file='charades_sta_train.txt', meta_file='video_meta.json',
                 data_prefix=dict(video='Charades_v1_480'),
                 on_bad_sample='skip', pipeline=train_pipeline),
            dict(type='DiDeMoDataset', data_root=didemo_root,
                 ann_file='annotations/train.json',
                 data_prefix=dict(video='videos'), on_bad_sample='skip',
                 pipeline=train_pipeline),
            dict(type='TACoSDataset', data_root=tacos_root,
                 ann_file='annotations/train.json',
                 data_prefix=dict(video='videos'), on_bad_sample='skip',
                 pipeline=train_pipeline),
            dict(type='RefCOCODataset', data_root=refcoco_root,
                 ann_file='mdetr_annotations/final_refcoco_train.json',
                 data_prefix=dict(video='train2014'), dataset_name='refcoco',
                 on_bad_sample='skip', pipeline=train_pipeline),
            dict(type='RefCOCODataset', data_root=refcoco_root,
                 ann_file='mdetr_annotations/final_refcoco+_train.json',
                 data_prefix=dict(video='train2014'), dataset_name='refcoco+',
                 on_bad_sample='skip', pipeline=train_pipeline),
            dict(type='RefCOCODataset', data_root=refcoco_root,
                 ann_file='mdetr_annotations/final_refcocog_train.json',
                 data_prefix=dict(video='train2014'), dataset_name='refcocog',
                 on_bad_sample='skip', pipeline=train_pipeline),
        ]))
# Uni-STG is a training mixture; validate on HC-STVG v1 (test split).
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='HCSTVGDataset', data_root=hcstvg_v1_root,
        ann_file='annos/hcstvg_v1/test.json',
        data_prefix=dict(video='v1_video'), test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='STVGMetric', protocol='tubedetr')
test_evaluator = val_evaluator
