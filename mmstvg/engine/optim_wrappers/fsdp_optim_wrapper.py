"""Gradient clipping by the global norm under FSDP (ours, not the paper's)."""
import contextlib

import torch.nn as nn
from mmengine.optim import OptimWrapper
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

from mmstvg.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class FSDPOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose norm clipping sees the whole model under FSDP.

    Under FSDP each rank holds a shard of every gradient, so the norm that
    ``torch.nn.utils.clip_grad_norm_`` computes over a rank's parameters is
    that shard's, and each rank would clip by a different factor. This
    wrapper clips with the root FSDP module's ``clip_grad_norm_``, which
    all-reduces the norm first (it learns the module in ``optim_context``,
    which MMEngine's FSDP wrapper enters in every ``train_step``). Without an
    FSDP root it clips as ``OptimWrapper`` does. Mixed precision is FSDP's
    (its ``MixedPrecision``), so this wrapper does no autocast.
    """

    _fsdp_root = None

    @contextlib.contextmanager
    def optim_context(self, model: nn.Module):
        if isinstance(model, FSDP):
            self._fsdp_root = model
        with super().optim_context(model):
            yield

    def _clip_grad(self) -> None:
        if self._fsdp_root is None or self.clip_func is not nn.utils.clip_grad_norm_:
            return super()._clip_grad()
        grad = self._fsdp_root.clip_grad_norm_(**self.clip_grad_kwargs)
        self.message_hub.update_scalar(f'train/{self.grad_name}', float(grad))
