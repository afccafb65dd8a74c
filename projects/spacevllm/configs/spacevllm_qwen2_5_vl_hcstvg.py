# SpaceVLLM (interleaved queries + QGSD) on Qwen2.5-VL-7B-Instruct, HC-STVG v1.
#
# configs/spacevllm_hcstvg.py with the backbone lines changed (ours, not the
# paper's: the paper builds on LLaVA-Video-7B-Qwen2). Data, schedule, queries,
# QGSD and the answer are the recipe's. Supported backbones and what each
# needs: docs/en/backbones.md.
#
#   python tools/train.py configs/spacevllm_qwen2_5_vl_hcstvg.py
#   bash tools/dist_train.sh configs/spacevllm_qwen2_5_vl_hcstvg.py 8 --strategy deepspeed_zero2
_base_ = ['spacevllm_hcstvg.py']

# EDIT: a local Qwen/Qwen2.5-VL-7B-Instruct snapshot (config.json,
# safetensors shards + index, tokenizer files). One directory feeds both
# parts: the tower reads its `visual.*` tensors, the LLM the rest.
qwen2_5_vl_path = 'checkpoints/Qwen2.5-VL-7B-Instruct'

# Qwen2.5-VL's own video input (docs/en/backbones.md): each video resized
# as its video processor does (smart_resize: sides multiples of 28, the
# frame's area within the checkpoint's min / max pixels, read from its
# preprocessor config), no padding; CLIP mean / std (below); frames paired
# into temporal patches (64 frames -> 32 token grids; a 640 x 360 video:
# 644 x 364 -> 23 x 13 tokens a grid, 9,568 visual tokens).
qwen_resize = dict(type='QwenVLSmartResize', checkpoint=qwen2_5_vl_path,
                   pixel_budget='frame')
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=64, test_mode=False),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    qwen_resize,
    dict(type='GroundingRandomFlip', prob=0.5),
    dict(type='ChooseQuestionTemplate'),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=True),
]))
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=64, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    qwen_resize,
    dict(type='ChooseQuestionTemplate'),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=False),
]))
val_dataloader = test_dataloader

model = dict(
    data_preprocessor=dict(
        type='GroundingDataPreprocessor',
        mean=[122.770938, 116.7460125, 104.09373615],  # CLIP's, x 255
        std=[68.5005327, 66.6321579, 70.32316305]),
    # Qwen2.5-VL's own tower: window attention, the 2x2 merger to the LLM
    # width; consecutive frames paired into one temporal patch as its video
    # processor pairs them (an odd count padded with the last frame). The
    # two frames of a patch share its tokens, its query and so its box
    # (docs/en/backbones.md). temporal_patching='frame' is the earlier layout:
    # each frame its own patch, twice the tokens, a layout the base model saw
    # for still images only.
    vision_encoder=dict(
        _delete_=True,
        type='QwenVLVisionEncoder',
        pretrained_model_name_or_path=qwen2_5_vl_path,
        temporal_patching='video',
        chunk_size=16,
        dtype='bf16',
        freeze=True),
    projector=dict(_delete_=True, type='IdentityProjector'),  # the merger projects
    feature_pooler=None,
    # The language model with multimodal RoPE: visual tokens at (time, row,
    # column), time = seconds x tokens_per_second (the checkpoint's 2) on the
    # temporal patches' grid.
    llm=dict(
        _delete_=True,
        type='QwenVLCausalLM',
        pretrained_model_name_or_path=qwen2_5_vl_path,
        dtype='bf16',
        attn_implementation='sdpa',
        gradient_checkpointing=True),
    # Qwen2.5-VL's own prompt: its tokenizer's chat template (its default
    # system turn), the video between <|vision_start|> and <|vision_end|>,
    # then the question; no times in the text: they are the temporal index
    # of its M-RoPE (absolute time, second_per_grid_ts as its processor sets
    # it). The earlier prompt was template='qwen_1_5' (LLaVA-Video's).
    prompt=dict(template='qwen_vl', time_style='none'),
    # The space decoder keeps the recipe's reference points
    # (frame_token_grid='auto'): Qwen's token grid is each video's own
    # (smart_resize keeps its aspect ratio), and the grounder passes it
    # (the tower's token_grid of the video's frame size) to the decoder.
    llava_onevision_path=None)
