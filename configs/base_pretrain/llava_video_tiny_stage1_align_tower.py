# Stage 1 of the small base with the tower trained (issue 29's experiment on
# whether the near-random tower limits the toy, docs/en/base_pretraining.md):
# LLaVA freezes SigLIP here because SigLIP is pretrained; ours starts random,
# so it learns to see in this stage, as the LLM learns its language.
# Then llava_video_tiny_stage2_sft_tower.py; both with
#   STAGE1=configs/base_pretrain/llava_video_tiny_stage1_align_tower.py \
#   STAGE2=configs/base_pretrain/llava_video_tiny_stage2_sft_tower.py \
#   BASE_DIR=data/pretrained/llava_video_tiny_tower bash tools/run_base_pretrain.sh
_base_ = ['./llava_video_tiny_stage1_align.py']

model = dict(vision_encoder=dict(freeze=False))
