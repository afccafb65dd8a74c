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
# Pipelines and loaders: configs/_base_/datasets/video_grounding.py.
_base_ = ['./video_grounding.py']

dataset_type = 'CharadesSTADataset'
data_root = 'data/charades_sta/'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='charades_sta_train.txt',
        meta_file='video_meta.json',
        clip_end_to='auto',
        data_prefix=dict(video='Charades_v1_480')))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='charades_sta_test.txt',
        meta_file='video_meta.json',
        clip_end_to='auto',
        data_prefix=dict(video='Charades_v1_480')))
val_dataloader = test_dataloader

val_evaluator = dict(type='TemporalGroundingMetric')
test_evaluator = val_evaluator
