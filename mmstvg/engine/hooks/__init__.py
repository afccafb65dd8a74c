"""Runner hooks of mmstvg."""
from .grounding_visualization_hook import GroundingVisualizationHook

__all__ = ['GroundingVisualizationHook']
