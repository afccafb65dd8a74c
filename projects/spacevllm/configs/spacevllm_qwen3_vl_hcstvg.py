# SpaceVLLM (interleaved queries + QGSD) on Qwen3-VL-8B-Instruct, HC-STVG v1.
#
# configs/spacevllm_hcstvg.py with the backbone lines changed (ours, not the
# paper's: the paper builds on LLaVA-Video-7B-Qwen2). Data, schedule, queries,
# QGSD and the answer are the recipe's. Supported backbones and what each
# needs: docs/en/backbones.md.
#
#   python tools/train.py configs/spacevllm_qwen3_vl_hcstvg.py
#   bash tools/dist_train.sh configs/spacevllm_qwen3_vl_hcstvg.py 8 --strategy deepspeed_zero2
_base_ = ['spacevllm_hcstvg.py']

# EDIT: a local Qwen/Qwen3-VL-8B-Instruct snapshot (config.json, safetensors
# shards + index, tokenizer files). One directory feeds both parts: the tower
# reads its `visual.*` tensors, the LLM the rest.
qwen3_vl_path = 'checkpoints/Qwen3-VL-8B-Instruct'

# Qwen3-VL's own video input (docs/en/backbones.md): each video resized as
# its video processor does (smart_resize: sides multiples of 32, the area of
# all its frames within the checkpoint's min / max pixels, read from its
# video_preprocessor_config.json), no padding; mean = std = 0.5 (below);
# frames paired into temporal patches (64 frames -> 32 token grids).
qwen_resize = dict(type='QwenVLSmartResize', checkpoint=qwen3_vl_path,
                   pixel_budget='video')
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
        mean=[127.5, 127.5, 127.5],  # Qwen3-VL's 0.5, x 255
        std=[127.5, 127.5, 127.5]),
    # Qwen3-VL's own tower: the 2x2 merger to the LLM width, and DeepStack
    # features (3 of its layers, merged) that the LLM adds to the visual
    # tokens after its first 3 layers. Consecutive frames are paired into one
    # temporal patch as its video processor pairs them (an odd count padded
    # with the last frame); the two frames of a patch share its tokens, its
    # query and so its box (docs/en/backbones.md). temporal_patching='frame'
    # is the earlier layout (each frame its own patch, twice the tokens).
    vision_encoder=dict(
        _delete_=True,
        type='QwenVLVisionEncoder',
        pretrained_model_name_or_path=qwen3_vl_path,
        temporal_patching='video',
        chunk_size=16,
        dtype='bf16',
        freeze=True),
    projector=dict(_delete_=True, type='IdentityProjector'),  # the merger projects
    feature_pooler=None,
    # The language model with Qwen3-VL's interleaved M-RoPE: one position
    # block per temporal patch (time, row, column), the time in the stamps.
    llm=dict(
        _delete_=True,
        type='Qwen3VLCausalLM',
        pretrained_model_name_or_path=qwen3_vl_path,
        dtype='bf16',
        attn_implementation='sdpa',
        gradient_checkpointing=True),
    # Qwen3-VL's own prompt: its tokenizer's chat template (no system turn),
    # then per temporal patch "<t seconds>" (the midpoint of its two frames)
    # and its tokens between <|vision_start|> and <|vision_end|>, then the
    # question. The earlier prompt was LLaVA-Video's qwen_1_5 with a stamp
    # per frame (template='qwen_1_5', time_style='frame_prefix').
    prompt=dict(
        template='qwen_vl',
        time_style='frame_prefix',
        time_format='<{:.1f} seconds>',
        prompts=dict(vision_markers='patch')),
    # The space decoder keeps the recipe's reference points
    # (frame_token_grid='auto'): Qwen's token grid is each video's own
    # (smart_resize keeps its aspect ratio), and the grounder passes it
    # (the tower's token_grid of the video's frame size) to the decoder.
    llava_onevision_path=None)
