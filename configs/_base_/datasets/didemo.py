# DiDeMo (temporal grounding, 5-second moments, ~4 annotators a sentence).
# annotations/{train,val,test}.json are written from the public
# {train,val,test}_data.json by
#   python tools/dataset_converters/didemo.py RAW.json OUT.json \
#       --video-dir data/didemo/videos --video-ext .mp4
# (see docs/en/dataset_prepare.md). Edit `data_root`.
# Pipelines and loaders: configs/_base_/datasets/video_grounding.py.
_base_ = ['./video_grounding.py']

dataset_type = 'DiDeMoDataset'
data_root = 'data/didemo/'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.json',
        data_prefix=dict(video='videos')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/val.json',
        data_prefix=dict(video='videos')))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/test.json',
        data_prefix=dict(video='videos')))

val_evaluator = dict(type='DiDeMoMetric')  # R1@0.5/0.7, mIoU (top-3 annotators)
test_evaluator = val_evaluator
