# RefCOCO / RefCOCO+ / RefCOCOg (REC) in MDETR's COCO-style json
# (final_refcoco_*.json, final_refcoco+_*.json, final_refcocog_*.json) and the
# COCO train2014 images. An image runs through the video pipeline as a
# one-frame video (the samplers return frame 0), resized to 384 x 384 as
# LLaVA-Video's SigLIP processor does (see video_grounding.py). Edit `data_root`.
dataset_type = 'RefCOCODataset'
data_root = 'data/refcoco/'
num_frames = 1
img_scale = (384, 384)

train_pipeline = [
    dict(type='GroundingDecordInit'),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=False),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=False,
         interpolation='bicubic'),
    dict(type='GroundingRandomFlip', prob=0.5),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=True),
]
test_pipeline = [
    dict(type='GroundingDecordInit'),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=False,
         interpolation='bicubic'),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=False),
]


def _refcoco(split, dataset_name, test_mode=True, pipeline=test_pipeline):
    return dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=f'mdetr_annotations/final_{split}.json',
        data_prefix=dict(video='train2014'),
        dataset_name=dataset_name,
        test_mode=test_mode,
        pipeline=pipeline)


train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=_refcoco('refcoco_train', 'refcoco', False, train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=_refcoco('refcoco_val', 'refcoco_val'))
# One split per test run; swap the split name for testA / testB, RefCOCO+
# (refcoco+_*) and RefCOCOg (refcocog_val / refcocog_test).
test_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=_refcoco('refcoco_testA', 'refcoco_testA'))

val_evaluator = dict(type='RECMetric')
test_evaluator = val_evaluator
