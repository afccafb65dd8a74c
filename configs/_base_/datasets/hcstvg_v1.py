# HC-STVG v1: the provider's raw json (train.json / test.json) and videos.
# Edit `data_root` to your copy. `st_frame_base=1` follows the provider's
# README (st_frame is 1-based, like STCAT); 0 reproduces TubeDETR's reading.
# Pipelines and loaders: configs/_base_/datasets/video_grounding.py
# (SpaceVLLM: 64 frames of 384 x 384 px).
_base_ = ['./video_grounding.py']

dataset_type = 'HCSTVGDataset'
data_root = 'data/hcstvg_v1/'

train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annos/hcstvg_v1/train.json',
        data_prefix=dict(video='v1_video'),
        st_frame_base=1))
test_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annos/hcstvg_v1/test.json',
        data_prefix=dict(video='v1_video'),
        st_frame_base=1))
# HC-STVG v1 has no validation split: validation runs on the test split.
val_dataloader = test_dataloader

val_evaluator = dict(type='STVGMetric', protocol='tubedetr')
test_evaluator = val_evaluator
