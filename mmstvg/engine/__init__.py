"""Training and evaluation machinery of mmstvg: hooks, optim wrappers, the runner builder."""
from .hooks import CheckpointFitCheckHook, GroundingVisualizationHook
from .optim_wrappers import CPUAutocastOptimWrapper

__all__ = ['CheckpointFitCheckHook', 'GroundingVisualizationHook', 'CPUAutocastOptimWrapper']
