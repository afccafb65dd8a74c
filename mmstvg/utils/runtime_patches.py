"""The process-wide changes mmstvg makes to MMEngine and to third-party logging.

Importing mmstvg changes nothing. :func:`apply_runtime_patches` makes these
changes, in this order:

1. the third-party message filters (:mod:`.log_filters`), so that DeepSpeed's
   accelerator warning, printed when step 2 imports ``mmengine.runner`` (and
   DeepSpeed with it), is already caught;
2. safe checkpoint loading: MMEngine's local checkpoint loader becomes
   :func:`~.checkpoint_compat.load_local_checkpoint` (:mod:`.checkpoint_compat`);
3. atomic local writes: ``LocalBackend.put`` / ``put_text`` write through a
   temporary file and a rename (:mod:`.atomic_io`).

Who calls it: :func:`~.setup_env.register_all_modules` (so the inferencer,
which calls that), :func:`mmstvg.engine.runner_builder.build_runner`, every
script under ``tools/`` and ``demo/`` (at the top, before anything imports
``mmengine.runner``), and the data construction workers. A script of your own
that uses MMEngine directly (``Runner.from_cfg``, ``load_checkpoint``) calls
``register_all_modules()`` or this function once.
"""
from .atomic_io import local_writes_patched, patch_mmengine_local_writes
from .checkpoint_compat import checkpoint_loading_patched, patch_mmengine_checkpoint_loading
from .log_filters import filter_uninformative_messages

__all__ = ['apply_runtime_patches', 'runtime_patches_applied']


def apply_runtime_patches() -> None:
    """Install the message filters, the safe checkpoint loader and atomic writes.

    Idempotent: each part checks whether it is in effect and installs itself
    only when it is not, so calling this again (from a tool, then from the
    runner builder) changes nothing. Set ``MMSTVG_SHOW_ALL_WARNINGS=1`` to
    leave messages unfiltered (the MMEngine patches are applied regardless).
    """
    filter_uninformative_messages()
    patch_mmengine_checkpoint_loading()
    patch_mmengine_local_writes()


def runtime_patches_applied() -> bool:
    """Whether MMEngine's checkpoint loading and local writes are patched now.

    Imports nothing that :func:`apply_runtime_patches` would not.
    """
    return checkpoint_loading_patched() and local_writes_patched()
