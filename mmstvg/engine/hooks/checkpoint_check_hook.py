"""A hook that refuses checkpoints whose weights do not fit the model (ours)."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmstvg.registry import HOOKS
from mmstvg.utils.checkpoint_keys import (check_checkpoint_fits_model,
                                          check_checkpoint_loads_something)


@HOOKS.register_module()
class CheckpointFitCheckHook(Hook):
    """Raise when a loaded checkpoint misses trained keys or has unexpected ones.

    MMEngine's Runner loads ``load_from`` and ``--resume`` checkpoints with
    ``strict=False`` and only logs what does not match. This hook runs in
    ``after_load_checkpoint`` (before the weights go into the model) and calls
    :func:`~mmstvg.utils.checkpoint_keys.check_checkpoint_fits_model`: frozen,
    untouched parts may be absent (said once), anything else that does not
    fit is a :class:`~mmstvg.utils.checkpoint_keys.CheckpointMismatchError`,
    and so is a file that would load none of the model's tensors (weights
    nested under another key than ``state_dict``). Only a runner whose
    strategy loads its own checkpoints (DeepSpeed's engine, which checks the
    keys itself) is left alone.
    ``tools/test.py`` always adds it; ``tools/train.py`` adds it for
    ``--resume``, and with ``partial=True`` for a fine-tuning ``load_from``:
    a stage-1 checkpoint may lack the new parts, but a file that would load
    none of the model's tensors is still an error
    (:func:`~mmstvg.utils.checkpoint_keys.check_checkpoint_loads_something`).
    Ours, not the paper's.

    Args:
        partial: only refuse a checkpoint that fits none of the model's
            tensors (what a fine-tuning ``load_from`` needs).
    """

    priority = 'VERY_HIGH'

    def __init__(self, partial: bool = False):
        self.partial = partial

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        strategy = getattr(runner, 'strategy', None)
        if type(strategy).__name__.endswith('DeepSpeedStrategy'):
            return  # DeepSpeed's engine loads the weights from its own directory
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        source = str(runner._load_from or 'the checkpoint')
        if self.partial:
            check_checkpoint_loads_something(model, checkpoint, source)
        else:
            check_checkpoint_fits_model(model, checkpoint, source)
