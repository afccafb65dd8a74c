# Baseline "boxes as text" (toy size, LLaVA-ST / Shikra style): no query
# tokens and no space decoder; the LLM writes the span and then every
# in-span frame's box as text ("frame 3: [0.12, 0.30, 0.45, 0.80]; ...").
# Malformed or missing boxes are counted (num_malformed_boxes /
# num_missing_boxes) and scored as misses. The paper's "without queries and
# decoder" ablation. Tower, LLM, data and schedule are
# configs/spacevllm_toy.py's.
#   python tools/train.py configs/baselines/text_boxes_toy.py
_base_ = ['../spacevllm_toy.py']

model = dict(
    type='TextBoxGroundingLLM',
    query_interleaver=None,
    space_decoder=None,
    frame_score_head=None,
    time_pointer=None,
    frame_state_source='llm_queries',
    box_precision=2,
    # ~12 tokens per box with the toy tokenizer; 16 frames and the span.
    max_new_tokens=256)
