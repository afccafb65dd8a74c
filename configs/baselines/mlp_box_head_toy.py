# SpaceVLLM's config projects/spacevllm/configs/baselines/mlp_box_head_toy.py,
# under the path that the docs and tools name.
_base_ = ['../../projects/spacevllm/configs/baselines/mlp_box_head_toy.py']
