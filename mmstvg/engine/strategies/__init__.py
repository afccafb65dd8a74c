"""Distributed-training glue around MMEngine's FlexibleRunner strategies."""
from .fsdp_strategy import LayerWrappedFSDPStrategy, transformer_layer_classes

__all__ = ['LayerWrappedFSDPStrategy', 'transformer_layer_classes']
