# Baseline "boxes as text" at full size, HC-STVG v1 (LLaVA-ST / Shikra style):
# configs/spacevllm_hcstvg.py without queries and space decoder; the LLM
# writes every in-span frame's box as text. Generation is long (Qwen2 writes
# a digit a token: ~28 tokens a box, up to 64 boxes), hence
# max_new_tokens=2048, and slow: this is the speed SpaceVLLM's one-pass
# decoding is compared with.
_base_ = ['../spacevllm_hcstvg.py']

model = dict(
    type='TextBoxGroundingLLM',
    query_interleaver=dict(_delete_=True, type='NoQueries'),
    space_decoder=None,
    # no queries: none of the recipe's per-frame heads (its span from scores)
    heads=[],
    frame_state_source='llm_queries',
    logits_processors=[],
    box_precision=2,
    max_new_tokens=2048)
