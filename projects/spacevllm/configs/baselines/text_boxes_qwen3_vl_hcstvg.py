# Baseline "boxes as text" on Qwen3-VL-8B-Instruct, HC-STVG v1: the Qwen3-VL
# recipe without queries and space decoder (as
# configs/baselines/text_boxes_hcstvg.py is for LLaVA-Video).
_base_ = ['../spacevllm_qwen3_vl_hcstvg.py']

# Boxes in Qwen3-VL's own grounding convention: integers on a 0-1000 grid
# of the frame (docs/en/backbones.md).
model = dict(
    type='TextBoxGroundingLLM',
    query_interleaver=dict(_delete_=True, type='NoQueries'),
    space_decoder=None,
    # no queries: none of the recipe's per-frame heads (its span from scores)
    heads=[],
    frame_state_source='llm_queries',
    logits_processors=[],
    box_coordinates='grid_1000',
    max_new_tokens=2048)
