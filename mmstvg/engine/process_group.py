"""Close the distributed process group when a run ends normally."""
import torch.distributed as dist

__all__ = ['close_process_group']


def close_process_group() -> None:
    """Wait for every rank, then destroy the default process group, if one is up.

    Called by ``tools/train.py`` and ``tools/test.py`` after the runner returns.
    A rank that leaves a gloo group without destroying it may abort at
    interpreter exit ("terminate called without an active exception", exit
    -6) while another rank still saves or logs, and the launcher then reports
    a finished run as failed. The barrier first lets the slowest rank finish.
    A rank that raised never gets here; the launcher stops the others.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
