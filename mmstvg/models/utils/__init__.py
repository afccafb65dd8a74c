from .llava_checkpoints import LlavaCheckpoint, fill_part_configs, load_llava_weights

__all__ = ['LlavaCheckpoint', 'fill_part_configs', 'load_llava_weights']
