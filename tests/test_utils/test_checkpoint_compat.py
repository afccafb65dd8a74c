import pickle

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmstvg.utils import apply_runtime_patches
from mmstvg.utils.checkpoint_compat import load_local_checkpoint

apply_runtime_patches()  # as every tool and the runner builder do


def test_mmengine_loads_checkpoints_with_non_tensor_objects(tmp_path):
    path = tmp_path / 'ckpt.pth'
    checkpoint = dict(meta=dict(iter=np.int64(7), seed=np.array([1, 2])),
                      state_dict=dict(w=torch.ones(2)))
    torch.save(checkpoint, path)
    # torch's own default refuses this file: the reason the fix exists.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    assert CheckpointLoader._schemes[''] is load_local_checkpoint
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert int(loaded['meta']['iter']) == 7
    assert loaded['meta']['seed'].tolist() == [1, 2]
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(str(tmp_path / 'nope.pth'))
