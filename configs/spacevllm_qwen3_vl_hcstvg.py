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

# Qwen3-VL's vision preprocessing: mean = std = 0.5, frames whose sides are
# multiples of 32 (16-pixel patches, 2x2 merger). 512 x 288 keeps HC-STVG's
# 16:9 (16 x 9 = 144 tokens a frame; 64 frames -> 9,216 visual tokens).
img_scale = (512, 288)
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
        mean=[127.5, 127.5, 127.5],  # Qwen3-VL's 0.5, x 255
        std=[127.5, 127.5, 127.5]),
    # Qwen3-VL's own tower: the 2x2 merger to the LLM width, and DeepStack
    # features (3 of its layers, merged) that the LLM adds to the visual
    # tokens after its first 3 layers. Each sampled frame fills a temporal
    # patch alone (one token grid a frame, as the per-frame queries and boxes
    # need).
    vision_encoder=dict(
        _delete_=True,
        type='QwenVLVisionEncoder',
        pretrained_model_name_or_path=qwen3_vl_path,
        chunk_size=16,
        dtype='bf16',
        freeze=True),
    projector=dict(_delete_=True, type='IdentityProjector'),  # the merger projects
    feature_pooler=None,
    # The language model with Qwen3-VL's interleaved M-RoPE: one position
    # block per frame (time, row, column), the time in the text stamps.
    llm=dict(
        _delete_=True,
        type='Qwen3VLCausalLM',
        pretrained_model_name_or_path=qwen3_vl_path,
        dtype='bf16',
        attn_implementation='sdpa',
        gradient_checkpointing=True),
    # Qwen3-VL's habit: a "<3.2 seconds>" stamp before each frame; the intro
    # states the duration and frame count without listing the times again.
    prompt=dict(
        time_style='frame_prefix',
        time_format='<{:.1f} seconds>',
        prompts=dict(intro_frame_prefix=(
            'The video lasts for {duration} seconds, and {num_frames} frames are '
            'uniformly sampled from it, each after its time stamp. Please answer the '
            'following questions related to this video.'))),
    llava_onevision_path=None)
