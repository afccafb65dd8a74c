# Stage 1 of the small base with a 4-layer LLM instead of 2 (issue 29's
# experiment on whether depth lets the base and the grounding learn *when*,
# docs/en/base_pretraining.md); its own random initial parts (the tower's are
# the same bytes: the init is seeded). Then llava_video_tiny_stage2_sft_deep.py:
#   STAGE1=configs/base_pretrain/llava_video_tiny_stage1_align_deep.py \
#   STAGE2=configs/base_pretrain/llava_video_tiny_stage2_sft_deep.py \
#   BASE_DIR=data/pretrained/llava_video_tiny_deep bash tools/run_base_pretrain.sh
_base_ = ['./llava_video_tiny_stage1_align.py']

llm_layers = 4
base_init = 'data/pretrained/llava_video_tiny_deep_init/'
base_llm_config = dict(num_hidden_layers=llm_layers)
model = dict(
    vision_encoder=dict(pretrained_model_name_or_path=base_init + 'vision'),
    llm=dict(pretrained_model_name_or_path=base_init + 'llm', tokenizer=base_init + 'tokenizer'))
