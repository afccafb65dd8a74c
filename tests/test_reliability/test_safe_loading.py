"""Item 1 of issue 15: checkpoints load without unpickling code unless opted in."""
import argparse
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import _load_checkpoint

from mmstvg.apis import GroundingInferencer
from mmstvg.engine.run_safety import apply_checkpoint_options
from mmstvg.utils import (UnsafeCheckpointError, allow_unsafe_checkpoint_loading,
                          unsafe_checkpoint_loading)
from mmstvg.utils.checkpoint_compat import _allowed_names, unsafe_loading_allowed
from tools.misc.export_safetensors import export_safetensors

from .conftest import call_main, grounder_config_file

REFUSED = "refusing to load this checkpoint: it holds the type(s)/function(s) posix.system"


def test_runner_checkpoints_need_only_the_allow_list(trained_work_dir):
    """The allow-list is what a checkpoint saved by our Runner needs, and it loads."""
    path = str(trained_work_dir['work_dir'] / 'iter_4.pth')
    found = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert found == {'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr',
                     'numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar',
                     'numpy.ndarray', 'numpy.dtype'}
    assert found <= _allowed_names()
    assert not unsafe_loading_allowed()
    checkpoint = _load_checkpoint(path, map_location='cpu')
    assert checkpoint['meta']['iter'] == 4
    losses = checkpoint['message_hub']['log_scalars']['train/loss']
    assert len(losses.data[0]) == 4 and losses.mean() > 0
    assert set(checkpoint['optimizer']['state']) == {0, 1}


def test_getattr_is_answered_only_for_history_buffer_statistics(tmp_path):
    """A file may not use getattr to reach methods of allowed objects."""
    import numpy as np

    class Reach:
        def __reduce__(self):
            return getattr, (np.zeros(1), 'tofile')

    path = tmp_path / 'reach.pth'
    torch.save(dict(x=Reach()), path)
    with pytest.raises(UnsafeCheckpointError, match="getattr.*'tofile'"):
        _load_checkpoint(str(path))


def test_payload_refused_in_process_names_file_and_type(payload_checkpoint):
    path, marker = payload_checkpoint
    with pytest.raises(UnsafeCheckpointError) as error:
        _load_checkpoint(str(path))
    assert str(path) in str(error.value) and 'posix.system' in str(error.value)
    assert '--unsafe-load' in str(error.value)
    assert not marker.exists()


def test_payload_refused_by_tools_test(payload_checkpoint, tiny_cfg, tmp_path):
    path, marker = payload_checkpoint
    config = grounder_config_file(tiny_cfg, tmp_path / 'grounder.py', tmp_path / 'work')
    metrics = tmp_path / 'metrics.json'
    with pytest.raises(UnsafeCheckpointError) as error:
        call_main('test', [config, path, '--metrics-out', metrics])
    assert str(error.value).startswith(f'{path}: {REFUSED}')
    assert not metrics.exists()  # nothing was scored
    assert not marker.exists()


@pytest.mark.parametrize('how', ['auto', 'named'])
def test_payload_refused_by_resume(how, payload_checkpoint, toy_training, tmp_path):
    path, marker = payload_checkpoint
    config, plugin_dir = toy_training
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    if how == 'auto':  # the payload is the work dir's latest checkpoint
        target = work_dir / 'iter_6.pth'
        target.write_bytes(path.read_bytes())
        (work_dir / 'last_checkpoint').write_text(str(target))
        resume = ['--resume']
    else:
        target = path
        resume = ['--resume', str(path)]
    with pytest.raises(UnsafeCheckpointError) as error:
        call_main('train', [config, '--work-dir', work_dir, *resume], plugin_dir)
    assert str(error.value).startswith(f'{target}: {REFUSED}')
    saved = sorted(p.name for p in work_dir.glob('iter_*.pth'))
    assert saved == (['iter_6.pth'] if how == 'auto' else [])  # nothing trained
    assert not marker.exists()


def test_payload_refused_by_the_inferencer(payload_checkpoint, tiny_cfg):
    path, marker = payload_checkpoint
    with pytest.raises(UnsafeCheckpointError, match='posix.system'):
        GroundingInferencer(tiny_cfg, str(path), device='cpu')
    assert not marker.exists()


def test_unsafe_load_is_an_explicit_opt_in(tmp_path):
    """A trusted old file with another object loads only after opting in."""
    path = tmp_path / 'old.pth'
    torch.save(dict(meta=dict(args=argparse.Namespace(lr=0.1)),
                    state_dict=dict(w=torch.ones(2))), path)
    with pytest.raises(UnsafeCheckpointError, match='argparse.Namespace'):
        _load_checkpoint(str(path))
    with unsafe_checkpoint_loading():
        assert _load_checkpoint(str(path))['meta']['args'].lr == 0.1
    assert not unsafe_loading_allowed()
    # the config key does what --unsafe-load does
    try:
        apply_checkpoint_options(Config(dict(unsafe_load=True)), check_fit=False)
        assert unsafe_loading_allowed()
        assert _load_checkpoint(str(path))['meta']['args'].lr == 0.1
    finally:
        allow_unsafe_checkpoint_loading(False)


def test_unsafe_load_flag_of_tools_test(tmp_path, tiny_cfg, grounder_checkpoint):
    """tools/test.py --unsafe-load loads an old file the default refuses."""
    checkpoint = torch.load(grounder_checkpoint, weights_only=True)
    checkpoint['meta']['args'] = argparse.Namespace(lr=0.1)
    path = tmp_path / 'old.pth'
    torch.save(checkpoint, path)
    config = grounder_config_file(tiny_cfg, tmp_path / 'grounder.py', tmp_path / 'work')
    metrics = tmp_path / 'metrics.json'
    with pytest.raises(UnsafeCheckpointError, match='argparse.Namespace'):
        call_main('test', [config, path, '--metrics-out', metrics])
    call_main('test', [config, path, '--unsafe-load', '--metrics-out', metrics])
    assert json.loads(metrics.read_text())['stvg/num_samples'] == 3
    assert not unsafe_loading_allowed()  # the opt-in ends with the run
    # the inferencer: refused by default, loaded with its argument or the config key
    with pytest.raises(UnsafeCheckpointError, match='argparse.Namespace'):
        GroundingInferencer(tiny_cfg, str(path), device='cpu')
    GroundingInferencer(tiny_cfg, str(path), device='cpu', unsafe_load=True)
    opted_in = tiny_cfg.copy()
    opted_in.unsafe_load = True
    GroundingInferencer(opted_in, str(path), device='cpu')
    assert not unsafe_loading_allowed()


def test_safetensors_export_loads_back(tmp_path, tiny_cfg, grounder_checkpoint):
    """The weights-only export gives the same predictions as the .pth."""
    out = str(tmp_path / 'grounder.safetensors')
    counts = export_safetensors(grounder_checkpoint, out)
    state = torch.load(grounder_checkpoint, weights_only=True)['state_dict']
    assert counts == dict(num_tensors=len(state),
                          num_elements=sum(v.numel() for v in state.values()),
                          num_skipped=0)
    loaded = _load_checkpoint(out)
    assert loaded['meta']['format'] == 'mmstvg-weights' and loaded['meta']['iter'] == '0'
    assert loaded['state_dict'].keys() == state.keys()
    assert all(torch.equal(loaded['state_dict'][k], v) for k, v in state.items())
    video = osp.join(tiny_cfg.test_dataloader.dataset.data_root, 'videos')
    video = osp.join(video, sorted(os.listdir(video))[0])
    results = [GroundingInferencer(tiny_cfg, path, device='cpu')(video, 'a red circle')
               for path in (grounder_checkpoint, out)]
    assert results[0]['predictions'] == results[1]['predictions']
    with pytest.raises(ValueError, match='must end with .safetensors'):
        export_safetensors(grounder_checkpoint, str(tmp_path / 'x.pth'))
