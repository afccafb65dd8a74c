"""Runner hooks of mmstvg."""
from .checkpoint_check_hook import CheckpointFitCheckHook
from .eval_progress_bar_hook import EvalProgressBarHook
from .grounding_visualization_hook import GroundingVisualizationHook

__all__ = ['CheckpointFitCheckHook', 'EvalProgressBarHook', 'GroundingVisualizationHook']
