# A small base video LLM made the way LLaVA-Video is made, at reduced width:
# a SigLIP tower -> LLaVA's 2-layer MLP projector -> 2x2 bilinear pooling with a
# newline token after each row (LLaVA-Video's video features) -> a Qwen2 LLM
# with the real Qwen2 BPE tokenizer and LLaVA-Video's `qwen_1_5` prompt. It is
# trained with language only (captions and open QA about the synthetic videos,
# data/synthetic_stvg/annotations/llava_video_<split>.json, in LLaVA-Video-178K's
# format): the LM loss on every assistant turn. Queries and heads come later,
# in the grounding configs that load this base through `llava_onevision_path`
# after tools/model_converters/export_llava_qwen.py wrote it as lmms-lab's
# `llava_qwen` layout.
#
# The parts start random: tools/misc/create_base_init.py CONFIG writes them
# with save_pretrained to `base_init`, from the sizes below.

# ---------------------------------------------------------------- sizes
num_frames = 16  # frames sampled per video
image_size = 64  # frames are resized to image_size x image_size (the videos' size)
patch_size = 8  # 8 x 8 patches -> 4 x 4 pooled tokens + 4 newlines a frame
vision_width = 64
vision_layers = 3  # read at -2, as LLaVA reads so400m (the export keeps 2)
llm_width = 128
llm_layers = 2
llm_heads = 4
llm_kv_heads = 2
max_positions = 4096
batch_size = 8
# Qwen2's byte-level BPE cut to its first 16,384 ranks (+ the 3 ChatML tokens):
# the same merges and ids, the synthetic texts 5 % longer than with all
# 151,643 ranks, and an LM head 9x smaller, which at width 128 would
# otherwise be most of each step's compute (docs/en/base_pretraining.md).
base_tokenizer_ranks = 16384

base_init = 'data/pretrained/llava_video_tiny_init/'
# so400m's heads, norm eps and activation: the llava_qwen layout names its
# tower and keeps no vision config, so these are what a loader reads back.
base_vision_config = dict(
    model_type='siglip_vision_model', hidden_size=vision_width,
    intermediate_size=4 * vision_width, num_hidden_layers=vision_layers,
    num_attention_heads=16, image_size=image_size, patch_size=patch_size,
    layer_norm_eps=1e-6, hidden_act='gelu_pytorch_tanh', vision_use_head=False)
# Qwen2-7B's shape at reduced width: GQA, untied LM head.
base_llm_config = dict(
    model_type='qwen2', hidden_size=llm_width, intermediate_size=4 * llm_width,
    num_hidden_layers=llm_layers, num_attention_heads=llm_heads,
    num_key_value_heads=llm_kv_heads, max_position_embeddings=max_positions,
    rms_norm_eps=1e-6, tie_word_embeddings=False)

# ---------------------------------------------------------------- model
model = dict(
    type='VideoGroundingLLM',
    # SigLIP normalises pixels to [-1, 1].
    data_preprocessor=dict(
        type='GroundingDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    vision_encoder=dict(
        type='HFVisionEncoder', pretrained_model_name_or_path=base_init + 'vision',
        select_layer=-2, pool_size=1, freeze=True),
    projector=dict(type='MLPProjector'),
    # LLaVA-Video's order: project, then pool (mm_spatial_pool_mode='bilinear',
    # stride 2, mm_newline_position='grid').
    feature_pooler=dict(type='LlavaFeaturePooler', mode='bilinear', stride=2,
                        newline='grid'),
    llm=dict(
        type='HFCausalLM', pretrained_model_name_or_path=base_init + 'llm',
        tokenizer=base_init + 'tokenizer'),
    query_interleaver=dict(type='NoQueries'),
    space_decoder=None,
    answer=dict(type='FreeTextAnswer'),
    prompt=dict(template='qwen_1_5'),
    max_new_tokens=128)

# ---------------------------------------------------------------- data
dataset_type = 'LlavaVideoSFTDataset'
data_root = 'data/synthetic_stvg/'
# The data_source values of the synthetic set's captions and QA
# (mmstvg/datasets/synthetic_language.py).
caption_source = 'synthetic_stvg_cap'
qa_source = 'synthetic_stvg_oe_qa'
train_pipeline = [
    dict(type='GroundingDecordInit', num_threads=1),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=False),
    dict(type='GroundingDecordDecode'),
    # LLaVA-Video resizes frames to the tower's square input.
    dict(type='GroundingResize', scale=(image_size, image_size), keep_ratio=False),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=True),
]
test_pipeline = [
    dict(type='GroundingDecordInit', num_threads=1),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='GroundingResize', scale=(image_size, image_size), keep_ratio=False),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=False),
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/llava_video_train.json',
        data_prefix=dict(video='videos'),
        dataset_name='synthetic_stvg_language',
        pipeline=train_pipeline))
# Captions and answers of the val videos are written by
# `tools/test.py ... --cfg-options test_dataloader.dataset.ann_file=...` into
# pred_text; there is no language metric here: no validation loop.
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

# ---------------------------------------------------------------- schedule
max_iters = 1000
lr = 1e-3
warmup_iters = 50
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters,
         eta_min_ratio=0.05)
]
# default_hooks / env_cfg: in the stage configs (a base file may not repeat
# default_runtime.py's keys).
