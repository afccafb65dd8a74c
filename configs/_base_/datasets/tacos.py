# TACoS (temporal grounding; 2D-TAN's train / val / test splits).
# annotations/{train,val,test}.json are written from 2D-TAN's
# data/TACoS/{train,val,test}.json by
#   python tools/dataset_converters/tacos.py RAW.json OUT.json \
#       --video-dir data/tacos/videos
# (see docs/en/dataset_prepare.md). Edit `data_root`.
# Pipelines and loaders: configs/_base_/datasets/video_grounding.py.
_base_ = ['./video_grounding.py']

dataset_type = 'TACoSDataset'
data_root = 'data/tacos/'

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

val_evaluator = dict(type='TemporalGroundingMetric')  # R1@0.3/0.5/0.7, mIoU
test_evaluator = val_evaluator
