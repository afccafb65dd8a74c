# SpaceVLLM-7B on HC-STVG v1: the recipe.
#
#   model     projects/spacevllm/configs/_base_/models/spacevllm_7b.py  (SigLIP-so400m + MLP +
#             Qwen2-7B-Instruct, interleaved queries, QGSD with reference
#             points on the token grid, the answer's span from per-frame
#             scores (both ours; the paper's model without them:
#             configs/spacevllm_paper_hcstvg.py); EDIT the
#             pretrained paths at its top)
#   data      configs/_base_/datasets/hcstvg_v1.py   (64 frames, 384 px; EDIT
#             data_root there). v1 has no val split: validation = test split.
#   schedule  configs/_base_/schedules/llm_adamw_cosine_2e.py (AdamW, per-part
#             learning rates, warm-up + cosine, 2 epochs; all ours)
#
# Train (8 GPUs; DeepSpeed ZeRO-2 is what we recommend for 7B):
#   bash tools/dist_train.sh configs/spacevllm_hcstvg.py 8 --strategy deepspeed_zero2
#   torchrun --nproc_per_node 8 tools/train.py configs/spacevllm_hcstvg.py \
#       --launcher pytorch --strategy deepspeed_zero3      # or fsdp
# Test:
#   bash tools/dist_test.sh configs/spacevllm_hcstvg.py CKPT 8
#
# Paper (7B, HC-STVG v1 test): m_tIoU 56.9, m_vIoU 39.3, vIoU@0.3 66.6,
# vIoU@0.5 36.9. The paper trains on its Uni-STG mixture first
# (configs/spacevllm_unistg.py); load_from that checkpoint to fine-tune here.
_base_ = [
    '_base_/models/spacevllm_7b.py',
    '../../../configs/_base_/datasets/hcstvg_v1.py',
    '../../../configs/_base_/schedules/llm_adamw_cosine_2e.py',
    '../../../configs/_base_/default_runtime.py',
]

# Frames and resolution (paper: 64 frames at train and test time; 384 px is
# SigLIP-so400m-patch14-384's input) are the dataset base's `num_frames` and
# `img_scale`; change them there or per run:
#   --cfg-options train_dataloader.dataset.pipeline.1.num_frames=32


# Epoch-based schedule: log epochs, keep the best m_vIoU checkpoint.
log_processor = dict(by_epoch=True)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='stvg/m_vIoU', rule='greater'))

# Start from a Uni-STG checkpoint (the paper's order), e.g.
# load_from = 'work_dirs/spacevllm_unistg/epoch_1.pth'
load_from = None
