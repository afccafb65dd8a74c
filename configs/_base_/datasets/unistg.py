# The Uni-STG mixture (SpaceVLLM's training data): STVG + TVG + REC at once.
# Each dataset keeps its own annotation format; the mixture gives every sample
# a prompt template of its task and repeats / subsamples each dataset by its
# ratio (round(ratio * len) samples per epoch). Edit the data roots.
# SpaceVLLM's Uni-STG has ~110K auto-made STVG, ~50K TVG and ~320K REC
# samples; the public parts are listed here, the ratios are a starting point.
_base_ = ['./video_grounding.py']

# The frames of every member (a RefCOCO image is a one-frame video) go through
# the shared pipelines of configs/_base_/datasets/video_grounding.py.
train_pipeline = {{_base_.train_pipeline}}
test_pipeline = {{_base_.test_pipeline}}

hcstvg_v1_root = 'data/hcstvg_v1/'
hcstvg_v2_root = 'data/hcstvg_v2/'
vidstg_root = 'data/vidstg/'
charades_root = 'data/charades_sta/'
didemo_root = 'data/didemo/'
tacos_root = 'data/tacos/'
refcoco_root = 'data/refcoco/'

# One copy of the question texts: QUESTION_TEMPLATES in
# mmstvg/models/language/questions.py (STVG, TVG, REC and multiple-choice QA).
# The mixture hands each sample its task's list and the pipelines'
# ChooseQuestionTemplate (before PackGroundingInputs, video_grounding.py) picks
# one: random in the seeded dataloader workers at training time, by sample
# index at test time. Replace a task's list with
# prompt_templates=dict(stvg=[...]) in the dataset below.

train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        _delete_=True,
        type='UniSTGDataset',
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
    dataset=dict(
        type='HCSTVGDataset', data_root=hcstvg_v1_root,
        ann_file='annos/hcstvg_v1/test.json',
        data_prefix=dict(video='v1_video')))
test_dataloader = val_dataloader

val_evaluator = dict(type='STVGMetric', protocol='tubedetr')
test_evaluator = val_evaluator
