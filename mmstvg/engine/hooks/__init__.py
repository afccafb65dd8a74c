"""Runner hooks of mmstvg."""
from .eval_progress_bar_hook import EvalProgressBarHook
from .grounding_visualization_hook import GroundingVisualizationHook

__all__ = ['EvalProgressBarHook', 'GroundingVisualizationHook']
