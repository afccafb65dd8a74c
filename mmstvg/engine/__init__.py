"""Training and evaluation machinery of mmstvg (hooks, ...)."""
from .hooks import GroundingVisualizationHook

__all__ = ['GroundingVisualizationHook']
