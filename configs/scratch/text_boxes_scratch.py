# SpaceVLLM's config projects/spacevllm/configs/scratch/text_boxes_scratch.py,
# under the path that the docs and tools name.
_base_ = ['../../projects/spacevllm/configs/scratch/text_boxes_scratch.py']
