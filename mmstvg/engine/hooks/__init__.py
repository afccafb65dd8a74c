"""Runner hooks of mmstvg."""
from .checkpoint_check_hook import CheckpointFitCheckHook
from .eval_progress_bar_hook import EvalProgressBarHook
from .grounding_visualization_hook import GroundingVisualizationHook
from .nonfinite_check_hook import NonFiniteCheckHook, NonFiniteTrainingError
from .resume_config_check_hook import ResumeConfigCheckHook

__all__ = ['CheckpointFitCheckHook', 'EvalProgressBarHook', 'GroundingVisualizationHook',
           'NonFiniteCheckHook', 'NonFiniteTrainingError', 'ResumeConfigCheckHook']
