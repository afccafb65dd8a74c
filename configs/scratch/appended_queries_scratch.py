# SpaceVLLM's config projects/spacevllm/configs/scratch/appended_queries_scratch.py,
# under the path that the docs and tools name.
_base_ = ['../../projects/spacevllm/configs/scratch/appended_queries_scratch.py']
