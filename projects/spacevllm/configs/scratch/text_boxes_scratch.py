# Baseline "boxes as text" (toy size, LLaVA-ST / Shikra style): no query
# tokens and no space decoder; the LLM writes the span and then every
# in-span frame's box as text ("frame 3: [0.12, 0.30, 0.45, 0.80]; ...").
# Malformed or missing boxes are counted (num_malformed_boxes /
# num_missing_boxes) and scored as misses. The paper's "without queries and
# decoder" ablation. Tower, LLM, data and schedule are
# configs/scratch/spacevllm_scratch.py's; the span is written on the shown frame times
# as there (SnappedSpanAnswer).
#   python tools/train.py configs/scratch/text_boxes_scratch.py
_base_ = ['./spacevllm_scratch.py']

model = dict(
    _delete_=True,
    type='TextBoxGroundingLLM',
    data_preprocessor={{_base_.model.data_preprocessor}},
    vision_encoder={{_base_.model.vision_encoder}},
    projector={{_base_.model.projector}},
    llm={{_base_.model.llm}},
    query_interleaver=dict(type='NoQueries'),
    span=dict(type='SnappedSpanAnswer'),
    prompt={{_base_.model.prompt}},
    box_precision=2,
    # ~12 tokens per box with the toy tokenizer; 16 frames and the span.
    max_new_tokens=256)
