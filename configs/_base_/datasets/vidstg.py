# VidSTG in TubeDETR's converted form ({"videos": [...], "trajectories": {...}},
# made by TubeDETR's preproc/preproc_vidstg.py) and the VidOR videos.
# Edit `data_root`. Frames are sampled inside each sentence's used segment
# (clip_span_frames). The metric reports declarative / interrogative apart.
# Pipelines and loaders: configs/_base_/datasets/video_grounding.py.
_base_ = ['./video_grounding.py']

dataset_type = 'VidSTGDataset'
data_root = 'data/vidstg/'

train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.json',
        data_prefix=dict(video='video')))
val_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/val.json',
        data_prefix=dict(video='video')))
test_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/test.json',
        data_prefix=dict(video='video')))

val_evaluator = dict(type='STVGMetric', protocol='tubedetr')
test_evaluator = val_evaluator
