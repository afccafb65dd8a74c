"""close_process_group: a no-op without a group; otherwise the group is gone after it."""
import torch.distributed as dist

from mmstvg.engine.process_group import close_process_group


def test_without_a_group_it_does_nothing():
    assert not dist.is_initialized()
    close_process_group()
    assert not dist.is_initialized()


def test_it_destroys_the_default_group(tmp_path):
    store = dist.FileStore(str(tmp_path / 'store'), 1)
    dist.init_process_group('gloo', store=store, rank=0, world_size=1)
    try:
        assert dist.is_initialized()
        close_process_group()
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
