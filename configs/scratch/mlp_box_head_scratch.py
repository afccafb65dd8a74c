# SpaceVLLM's config projects/spacevllm/configs/scratch/mlp_box_head_scratch.py,
# under the path that the docs and tools name.
_base_ = ['../../projects/spacevllm/configs/scratch/mlp_box_head_scratch.py']
