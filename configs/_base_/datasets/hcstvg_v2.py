# HC-STVG v2: the provider's raw json (trainv2.json / valv2.json) and videos.
# Same pipelines, loaders and metric as HC-STVG v1 (configs/_base_/datasets/hcstvg_v1.py);
# only the dataset class, the files and the video folder differ.
# Edit `data_root` to your copy.
# HC-STVG v2 results are reported on its val split (its test labels are withheld).
_base_ = ['./hcstvg_v1.py']

dataset_type = 'HCSTVGv2Dataset'
data_root = 'data/hcstvg_v2/'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annos/hcstvg_v2/trainv2.json',
        data_prefix=dict(video='v2_video')))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annos/hcstvg_v2/valv2.json',
        data_prefix=dict(video='v2_video')))
val_dataloader = test_dataloader
