# SpaceVLLM's config projects/spacevllm/configs/spacevllm_paper_hcstvg.py,
# under the path that the docs and tools name.
_base_ = ['../projects/spacevllm/configs/spacevllm_paper_hcstvg.py']
