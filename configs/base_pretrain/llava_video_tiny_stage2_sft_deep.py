# Stage 2 of the small base with a 4-layer LLM, from
# llava_video_tiny_stage1_align_deep.py's checkpoint (issue 29's experiment;
# docs/en/base_pretraining.md).
_base_ = ['./llava_video_tiny_stage2_sft.py']

llm_layers = 4
base_init = 'data/pretrained/llava_video_tiny_deep_init/'
base_llm_config = dict(num_hidden_layers=llm_layers)
load_from = 'work_dirs/llava_video_tiny_stage1_align_deep/iter_400.pth'
model = dict(
    vision_encoder=dict(pretrained_model_name_or_path=base_init + 'vision'),
    llm=dict(pretrained_model_name_or_path=base_init + 'llm', tokenizer=base_init + 'tokenizer'))
