from .cpu_autocast_optim_wrapper import CPUAutocastOptimWrapper
from .fsdp_optim_wrapper import FSDPOptimWrapper

__all__ = ['CPUAutocastOptimWrapper', 'FSDPOptimWrapper']
