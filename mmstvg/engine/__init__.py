"""Training and evaluation machinery of mmstvg: hooks, optim wrappers, the runner builder."""
from .hooks import CheckpointFitCheckHook, EvalProgressBarHook, GroundingVisualizationHook
from .optim_wrappers import CPUAutocastOptimWrapper

__all__ = ['CheckpointFitCheckHook', 'EvalProgressBarHook', 'GroundingVisualizationHook',
           'CPUAutocastOptimWrapper']
