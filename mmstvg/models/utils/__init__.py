from .llava_onevision import load_llava_onevision_weights

__all__ = ['load_llava_onevision_weights']
