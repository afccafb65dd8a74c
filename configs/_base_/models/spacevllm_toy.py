# The toy SpaceVLLM: tiny random SigLIP + Qwen2 + the toy word-level tokenizer,
# written by `python tools/misc/create_toy_pretrained.py data/pretrained/toy`
# and loaded through the same `from_pretrained` code a 7B model goes through.
toy_pretrained = 'data/pretrained/toy'

custom_imports = dict(imports=['projects.spacevllm.spacevllm'], allow_failed_imports=False)

model = dict(
    type='VideoGroundingLLM',
    data_preprocessor=dict(
        type='GroundingDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    vision_encoder=dict(
        type='HFVisionEncoder',
        pretrained_model_name_or_path=toy_pretrained + '/vision',
        select_layer=-1,
        pool_size=2,
        freeze=False),
    projector=dict(type='MLPProjector'),
    llm=dict(
        type='HFCausalLM',
        pretrained_model_name_or_path=toy_pretrained + '/llm',
        tokenizer=toy_pretrained + '/tokenizer'),
    query_interleaver=dict(type='InterleavedQueries'),
    space_decoder=dict(type='QueryGuidedSpaceDecoder', attention='learnable', num_heads=4),
    max_new_tokens=16,
)
