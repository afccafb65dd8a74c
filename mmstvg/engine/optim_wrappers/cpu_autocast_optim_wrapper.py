"""bf16 autocast on CPU, where mmengine 0.10.7's AmpOptimWrapper refuses to run."""
import contextlib
from typing import Optional, Union

import torch
from mmengine.optim import OptimWrapper

from mmstvg.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose ``optim_context`` adds ``torch.autocast('cpu')``.

    mmengine 0.10.7's ``AmpOptimWrapper`` asserts a GPU/NPU/MLU/MUSA device in
    its ``__init__``, although its autocast would work on CPU. bf16 keeps
    fp32's exponent range, so no loss scaling is needed and this wrapper has
    none. ``tools/train.py --amp`` picks it on CPU-only machines.

    Args:
        dtype: the autocast dtype; only bfloat16 is supported on CPU.
        loss_scale: accepted for config compatibility with AmpOptimWrapper
            and ignored (bf16 needs no scaling).
        **kwargs: arguments of :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self,
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 loss_scale: Optional[Union[str, float, dict]] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        if self.cast_dtype != torch.bfloat16:
            raise ValueError(f'autocast on CPU supports bfloat16 only, got {dtype}')

    @contextlib.contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield
