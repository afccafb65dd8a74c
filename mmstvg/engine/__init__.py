"""Training and evaluation machinery of mmstvg: hooks, optim wrappers, the runner builder."""
from .hooks import GroundingVisualizationHook
from .optim_wrappers import CPUAutocastOptimWrapper, FSDPOptimWrapper
from .strategies import LayerWrappedFSDPStrategy

__all__ = ['GroundingVisualizationHook', 'CPUAutocastOptimWrapper', 'FSDPOptimWrapper',
           'LayerWrappedFSDPStrategy']
