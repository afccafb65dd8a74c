from .grounding_data_preprocessor import GroundingDataPreprocessor

__all__ = ['GroundingDataPreprocessor']
