# SpaceVLLM's config projects/spacevllm/configs/baselines/text_boxes_qwen3_vl_hcstvg.py,
# under the path that the docs and tools name.
_base_ = ['../../projects/spacevllm/configs/baselines/text_boxes_qwen3_vl_hcstvg.py']
