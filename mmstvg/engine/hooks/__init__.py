"""Runner hooks of mmstvg."""
from .checkpoint_check_hook import CheckpointFitCheckHook
from .grounding_visualization_hook import GroundingVisualizationHook

__all__ = ['CheckpointFitCheckHook', 'GroundingVisualizationHook']
