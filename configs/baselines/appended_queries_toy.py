# SpaceVLLM's config projects/spacevllm/configs/baselines/appended_queries_toy.py,
# under the path that the docs and tools name.
_base_ = ['../../projects/spacevllm/configs/baselines/appended_queries_toy.py']
