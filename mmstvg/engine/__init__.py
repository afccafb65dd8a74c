"""Training and evaluation machinery of mmstvg: hooks, optim wrappers, strategies, the runner builder."""
from .hooks import (CheckpointFitCheckHook, EvalProgressBarHook, GroundingVisualizationHook,
                    NonFiniteCheckHook, NonFiniteTrainingError, ResumeConfigCheckHook)
from .optim_wrappers import CPUAutocastOptimWrapper, FSDPOptimWrapper
from .strategies import LayerWrappedFSDPStrategy

__all__ = ['CheckpointFitCheckHook', 'EvalProgressBarHook', 'GroundingVisualizationHook',
           'NonFiniteCheckHook', 'NonFiniteTrainingError', 'ResumeConfigCheckHook',
           'CPUAutocastOptimWrapper', 'FSDPOptimWrapper', 'LayerWrappedFSDPStrategy']
