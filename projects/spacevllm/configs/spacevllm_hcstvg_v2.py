# SpaceVLLM-7B on HC-STVG v2 (results on its val split; the test labels are
# withheld). Same model and schedule as configs/spacevllm_hcstvg.py; only the
# data differ (EDIT data_root in configs/_base_/datasets/hcstvg_v2.py and the
# pretrained paths in projects/spacevllm/configs/_base_/models/spacevllm_7b.py).
#
#   bash tools/dist_train.sh configs/spacevllm_hcstvg_v2.py 8 --strategy deepspeed_zero2
#
# Paper (7B, HC-STVG v2 val): m_tIoU 58.0, m_vIoU 34.0, vIoU@0.3 56.9,
# vIoU@0.5 24.7.
_base_ = [
    '_base_/models/spacevllm_7b.py',
    '../../../configs/_base_/datasets/hcstvg_v2.py',
    '../../../configs/_base_/schedules/llm_adamw_cosine_2e.py',
    '../../../configs/_base_/default_runtime.py',
]

# Epoch-based schedule: log epochs, keep the best m_vIoU checkpoint.
log_processor = dict(by_epoch=True)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='stvg/m_vIoU', rule='greater'))
load_from = None
