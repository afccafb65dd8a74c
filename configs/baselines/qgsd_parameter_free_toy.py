# SpaceVLLM's config projects/spacevllm/configs/baselines/qgsd_parameter_free_toy.py,
# under the path that the docs and tools name.
_base_ = ['../../projects/spacevllm/configs/baselines/qgsd_parameter_free_toy.py']
