# SpaceVLLM at full size (7B): SigLIP-so400m vision tower -> 2-layer MLP
# projector -> Qwen2-7B-Instruct, one interleaved query per frame, and the
# Query-Guided Space Decoder (QGSD) on the LLM's last-layer hidden states,
# with reference points on the token grid, and the answer's span read from
# per-frame scores (both ours, see space_decoder and heads below).
#
# Paper (SpaceVLLM, 2025; its code is not public): a LLaVA-Video-7B-Qwen2
# style base (SigLIP + MLP + Qwen2, unconfirmed), 64 frames, interleaved
# spatio-temporal aware queries, the QGSD with dual cross-attention, L1 + GIoU
# box losses on the frames inside the ground-truth span.
# Ours: every value the paper does not give (marked "ours" below).

# ---------------------------------------------------------------------------
# Pretrained weights: EDIT THESE. Local directories in transformers' format
# (`save_pretrained` / a hub snapshot); nothing is downloaded by mmstvg.
# Every full-size config reads them from here, so one edit serves all. From
# the command line: --cfg-options model.llm.pretrained_model_name_or_path=DIR
# ---------------------------------------------------------------------------
pretrained_root = 'checkpoints/'
# The base video LLM the paper starts from: lmms-lab/LLaVA-Video-7B-Qwen2
# (LLaVA-NeXT's llava_qwen layout; llava-hf LlavaOnevision directories such as
# llava-hf/llava-onevision-qwen2-7b-ov-hf load too). Its configs build the
# SigLIP tower (26 layers, read at the last), the LLM, the tokenizer and the
# video pooling (mm_spatial_pool_mode / _stride, mm_newline_position); its
# weights are read once, then LoRA (if any) is applied. See
# docs/en/full_size_models.md.
llava_onevision_path = pretrained_root + 'LLaVA-Video-7B-Qwen2'
# Without a LLaVA checkpoint (llava_onevision_path = None): separate
# google/siglip-so400m-patch14-384 (27 layers, read at -2 = LLaVA's layer) and
# Qwen/Qwen2-7B-Instruct, with a randomly initialised projector.
vision_tower_path = pretrained_root + 'siglip-so400m-patch14-384'
llm_path = pretrained_root + 'Qwen2-7B-Instruct'

# SpaceVLLM's parts (InterleavedQueries, QueryGuidedSpaceDecoder) live in the
# plugin and register themselves on import.
custom_imports = dict(imports=['projects.spacevllm.spacevllm'], allow_failed_imports=False)

model = dict(
    type='VideoGroundingLLM',
    # SigLIP normalises pixels to [-1, 1]: mean = std = 0.5 * 255.
    data_preprocessor=dict(
        type='GroundingDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    # 384 px frames -> 27 x 27 patches of 1152 channels; select_layer=-2:
    # LLaVA's layer of the 27-layer so400m (a LLaVA checkpoint sets its own).
    # The tower is frozen (ours; set freeze=False to tune it at the 2e-6 of
    # the optimizer's custom_keys).
    vision_encoder=dict(
        type='HFVisionEncoder',
        pretrained_model_name_or_path=vision_tower_path,
        select_layer=-2,
        pool_size=1,
        chunk_size=16,
        dtype='bf16',
        freeze=True),
    # LLaVA's 2-layer MLP (GELU); sizes are filled from the tower and the LLM.
    projector=dict(type='MLPProjector'),
    # LLaVA-Video's order: project every patch token, then pool each frame's
    # grid 2x2 bilinearly (27 x 27 -> 14 x 14 = 196 tokens; 64 frames ->
    # 12,544 visual tokens). With a LLaVA checkpoint, mode, stride and
    # image_newline placement are read from its config (LLaVA-NeXT's
    # mm_newline_position='grid': a newline after each row, 14 x 15 = 210).
    feature_pooler=dict(type='LlavaFeaturePooler'),
    # Qwen2-7B-Instruct in bf16 with PyTorch's sdpa attention and gradient
    # checkpointing (a 64-frame sample is ~13K tokens). Full fine-tuning at
    # 2e-5 (ours). LoRA instead (needs `pip install peft`): add
    #   lora=dict(r=64, lora_alpha=128, lora_dropout=0.05,
    #             target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj'])
    # (base weights are then frozen, adapters train at the `llm.` rate).
    # flash-attn 2, where installed: attn_implementation='flash_attention_2'.
    llm=dict(
        type='HFCausalLM',
        pretrained_model_name_or_path=llm_path,
        dtype='bf16',
        attn_implementation='sdpa',
        gradient_checkpointing=True),
    # Paper: one learnable query token right after each frame's visual tokens.
    # Whether the queries also get a frame-index embedding is not said (ours:
    # no, one shared query vector; position and causal attention tell the
    # frames apart).
    query_interleaver=dict(type='InterleavedQueries', frame_index_embed=False,
                           max_frames=64),
    # The space decoder. Paper: dual cross-attention (frame tokens <- sentence,
    # query <- frame tokens) + MLP -> normalised (cx, cy, w, h). Losses: mmdet
    # L1 (weight 5) on cxcywh + GIoU (weight 2) on xyxy, DETR's weights.
    # Learnable attention layers with 8 heads (ours; 'parameter_free' is the
    # other reading, see configs/baselines/qgsd_parameter_free_hcstvg.py).
    # Ours, the default: the same decoder with reference points on the frame's
    # token grid (ReferencePointSpaceDecoder; the box centre is an offset from
    # a query-weighted mean of the grid cells, as in Conditional / Deformable
    # DETR). frame_token_grid='auto' reads the grid and LLaVA's row newlines
    # from each frame's token count (14 x 14 + newlines at 384 px). On the
    # small base pretrained here the paper's box MLP does not learn *where*
    # (gt_vIoU at the centred box's) and this one does: docs/en/base_pretraining.md.
    # The paper's model without our additions: configs/spacevllm_paper_hcstvg.py
    # (its decoder alone: --cfg-options model.space_decoder.frame_token_grid=None,
    # the same computation).
    space_decoder=dict(
        type='ReferencePointSpaceDecoder',
        frame_token_grid='auto',
        attention='learnable',
        num_heads=8,
        num_mlp_layers=3,
        loss_bbox=dict(type='mmdet.L1Loss', loss_weight=5.0),
        loss_iou=dict(type='mmdet.GIoULoss', loss_weight=2.0)),
    # *When*. Paper: the LLM writes the span in its answer, alone. Ours, the
    # default: a score per frame, "inside the span", from the space decoder's
    # guided queries (which have read the sentence; frame_state_source), after
    # a 1-D convolution over 3 frames (QuerySpanScoreHead, temporal_kernel=3),
    # trained with sigmoid cross-entropy; in generation the answer states the
    # span those scores give, in the answer's own words (FrameScoreSpanWriter:
    # the run of frames with the largest sum of logits). On the small base the
    # LLM alone stays near the trivial answer's m_tIoU and this does not:
    # docs/en/base_pretraining.md. The paper's reading: heads=[],
    # frame_state_source='llm_queries', logits_processors=[]
    # (configs/spacevllm_paper_hcstvg.py).
    heads=[dict(type='QuerySpanScoreHead', temporal_kernel=3)],
    frame_state_source='space_decoder',
    logits_processors=[dict(type='FrameScoreSpanWriter')],
    # LLaVA-Video's prompt (qwen_1_5: ChatML, "The video lasts for 20.00
    # seconds, and 64 frames are uniformly sampled from it. These frames are
    # located at 0.00s,0.31s,..."), what the base model was trained on; ours
    # (a time stamp before each frame) is template='mmstvg'. The answer
    # states the span in seconds ("... from 12.0 to 18.5 seconds").
    prompt=dict(template='qwen_1_5', span_precision=1),
    max_new_tokens=32,
    loss_lm_weight=1.0,
    llava_onevision_path=llava_onevision_path)
