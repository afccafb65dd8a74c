# Baseline "boxes as text" on Qwen2.5-VL-7B-Instruct, HC-STVG v1: the
# Qwen2.5-VL recipe without queries and space decoder (as
# configs/baselines/text_boxes_hcstvg.py is for LLaVA-Video).
_base_ = ['../spacevllm_qwen2_5_vl_hcstvg.py']

# Boxes in Qwen2.5-VL's own grounding convention: integer pixels of the
# resized frame it sees (docs/en/backbones.md).
model = dict(
    type='TextBoxGroundingLLM',
    query_interleaver=dict(_delete_=True, type='NoQueries'),
    space_decoder=None,
    # no queries: none of the recipe's per-frame heads (its span from scores)
    heads=[],
    frame_state_source='llm_queries',
    logits_processors=[],
    box_coordinates='resized_pixels',
    max_new_tokens=2048)
