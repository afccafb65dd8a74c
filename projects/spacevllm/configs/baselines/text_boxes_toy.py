# Baseline "boxes as text" at toy size (LLaVA-ST / Shikra style):
# configs/spacevllm_toy.py without queries and space decoder; the LLM writes
# the span and every in-span frame's box as text; the twin of
# text_boxes_hcstvg.py. Qwen2's tokenizer writes a digit a token (~28 tokens a
# box): 16 frames fit in 512 new tokens.
_base_ = ['../spacevllm_toy.py']

model = dict(
    type='TextBoxGroundingLLM',
    query_interleaver=dict(_delete_=True, type='NoQueries'),
    space_decoder=None,
    # no queries: none of the recipe's per-frame heads (its span from scores)
    heads=[],
    frame_state_source='llm_queries',
    logits_processors=[],
    box_precision=2,
    max_new_tokens=512)
