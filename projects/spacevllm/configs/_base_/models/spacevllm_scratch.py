# SpaceVLLM from scratch (the tests' fast model): tiny random SigLIP + Qwen2 + the toy word-level tokenizer,
# written by `python tools/misc/create_toy_pretrained.py data/pretrained/toy`
# and loaded through the same `from_pretrained` code a 7B model goes through.
toy_pretrained = 'data/pretrained/toy'

custom_imports = dict(imports=['projects.spacevllm.spacevllm'], allow_failed_imports=False)

# The paper's parts (VideoGroundingLLM, InterleavedQueries, QueryGuidedSpaceDecoder,
# SpanAnswer) at toy size, plus our additions that make the random toy learn,
# each its own part named here and marked "ours" (docs/en/model_core.md).
model = dict(
    # The paper's grounder, with our per-frame span heads below.
    type='VideoGroundingLLM',
    data_preprocessor=dict(
        type='GroundingDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    vision_encoder=dict(
        type='HFVisionEncoder',
        pretrained_model_name_or_path=toy_pretrained + '/vision',
        # The toy tower is random: until trained, its transformer layers only
        # scramble the pixels. The toy reads its patch embeddings (layer 0);
        # a pretrained tower is read at layer -2, as LLaVA does.
        select_layer=0,
        pool_size=2,
        freeze=False),
    projector=dict(type='MLPProjector'),
    llm=dict(
        type='HFCausalLM',
        pretrained_model_name_or_path=toy_pretrained + '/llm',
        tokenizer=toy_pretrained + '/tokenizer'),
    query_interleaver=dict(type='InterleavedQueries'),
    space_decoder=dict(
        # Ours: the paper's QGSD with boxes around reference points on the 4x4
        # token grid (64 px frames, 8 px patches, 2x2 pooling): DETR-style heads
        # trained from scratch converge far faster this way.
        type='ReferencePointSpaceDecoder',
        attention='learnable',
        num_heads=4,
        frame_token_grid=(4, 4)),
    # Ours, not the paper's: a per-frame "inside the span" score. It scores the
    # boxes and gives the frames a dense temporal signal.
    heads=[dict(type='QuerySpanScoreHead')],
    # Ours, not the paper's: a copy head that lets the LLM write a shown time
    # stamp by pointing at a frame boundary, the toy LLM's stand-in for a
    # pretrained LLM's copying (see TimeStampPointer).
    logits_processors=[dict(type='TimeStampPointer')],
    # Both read the QGSD's guided queries, which know the sentence and the frame
    # (the LLM's own query states come before the sentence in the prompt).
    frame_state_source='space_decoder',
    # Ours: the answer states the span on the shown frame times (SnappedSpanAnswer).
    answer=dict(type='SnappedSpanAnswer'),
    # Ours: the toy's own prompt (its word-level tokenizer has no LLaVA-Video
    # words), each frame after its time stamp ("3.2s").
    prompt=dict(template='mmstvg'),
    max_new_tokens=16,
)
