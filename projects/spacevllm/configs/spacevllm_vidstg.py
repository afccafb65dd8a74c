# SpaceVLLM-7B on VidSTG (TubeDETR's converted annotations; frames sampled in
# each sentence's used segment). The metric reports declarative and
# interrogative sentences apart (stvg/declarative_m_vIoU, ...) besides the
# overall means. Same model and schedule as configs/spacevllm_hcstvg.py
# (EDIT data_root in configs/_base_/datasets/vidstg.py and the pretrained
# paths in projects/spacevllm/configs/_base_/models/spacevllm_7b.py).
#
#   bash tools/dist_train.sh configs/spacevllm_vidstg.py 8 --strategy deepspeed_zero2
#
# Paper (7B, VidSTG test): declarative m_tIoU 47.7 / m_vIoU 27.4 /
# vIoU@0.3 39.1 / vIoU@0.5 26.2; interrogative 48.5 / 25.4 / 35.9 / 22.2.
_base_ = [
    '_base_/models/spacevllm_7b.py',
    '../../../configs/_base_/datasets/vidstg.py',
    '../../../configs/_base_/schedules/llm_adamw_cosine_2e.py',
    '../../../configs/_base_/default_runtime.py',
]

# VidSTG has ~5x HC-STVG v1's sentences: one epoch (ours).
max_epochs = 1
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]

# Epoch-based schedule: log epochs, keep the best m_vIoU checkpoint.
log_processor = dict(by_epoch=True)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='stvg/m_vIoU', rule='greater'))
load_from = None
