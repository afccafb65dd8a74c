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

# Qwen's vision preprocessing: CLIP mean / std, frames whose sides are
# multiples of 28 (14-pixel patches, 2x2 merger). 448 x 252 keeps HC-STVG's
# 16:9 (16 x 9 = 144 tokens a frame; 64 frames -> 9,216 visual tokens).
img_scale = (448, 252)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=64, test_mode=False),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=True),
    dict(type='GroundingRandomFlip', prob=0.5),
    dict(type='GroundingPad', size=img_scale),
    dict(type='PackGroundingInputs'),
]))
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=64, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=True),
    dict(type='GroundingPad', size=img_scale),
    dict(type='PackGroundingInputs'),
]))
val_dataloader = test_dataloader

model = dict(
    data_preprocessor=dict(
        type='GroundingDataPreprocessor',
        mean=[122.770938, 116.7460125, 104.09373615],  # CLIP's, x 255
        std=[68.5005327, 66.6321579, 70.32316305]),
    # Qwen2.5-VL's own tower: window attention, the 2x2 merger to the LLM
    # width; each sampled frame fills a temporal patch alone (one token grid
    # a frame, as the per-frame queries and boxes need).
    vision_encoder=dict(
        _delete_=True,
        type='QwenVLVisionEncoder',
        pretrained_model_name_or_path=qwen2_5_vl_path,
        chunk_size=16,
        dtype='bf16',
        freeze=True),
    projector=dict(_delete_=True, type='IdentityProjector'),  # the merger projects
    feature_pooler=None,
    # The language model with multimodal RoPE: visual tokens at (time, row,
    # column), time = seconds x tokens_per_second (the checkpoint's 2).
    llm=dict(
        _delete_=True,
        type='QwenVLCausalLM',
        pretrained_model_name_or_path=qwen2_5_vl_path,
        dtype='bf16',
        attn_implementation='sdpa',
        gradient_checkpointing=True),
    # Qwen2.5-VL's habit: time lives in the positions and in seconds in the
    # text, not in per-frame stamps; the prompt lists the frames' times.
    prompt=dict(time_style='prompt_list', time_format='{:.1f}s'),
    llava_onevision_path=None)
