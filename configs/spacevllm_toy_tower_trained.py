# SpaceVLLM's config projects/spacevllm/configs/spacevllm_toy_tower_trained.py,
# under the path that the docs and tools name.
_base_ = ['../projects/spacevllm/configs/spacevllm_toy_tower_trained.py']
