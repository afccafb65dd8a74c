"""Issue 32: a checkpoint that would load none of the model's weights is an error.

MMEngine reads weights from ``checkpoint['state_dict']`` or from the top level
and loads with ``strict=False``: a file shaped ``{'model': state_dict}`` loads
nothing, and ``tools/test.py`` scored the built (random) weights. Now it fails
before inference, naming the file and where the weights seem to be. Only a
strategy that loads its own files (DeepSpeed) skips the check.
"""
from types import SimpleNamespace

import pytest
import torch

from mmstvg.engine.hooks import CheckpointFitCheckHook
from mmstvg.registry import MODELS
from mmstvg.utils import CheckpointMismatchError, check_checkpoint_fits_model

from .conftest import call_main, grounder_config_file


def test_tools_test_refuses_a_checkpoint_that_loads_nothing(tiny_cfg, grounder_checkpoint,
                                                            tmp_path):
    weights = torch.load(grounder_checkpoint, weights_only=True)['state_dict']
    path = tmp_path / 'nested.pth'
    torch.save(dict(meta=dict(iter=4), model=weights), path)
    config = grounder_config_file(tiny_cfg, tmp_path / 'tiny.py', tmp_path / 'work')
    metrics = tmp_path / 'metrics.json'
    with pytest.raises(CheckpointMismatchError) as error:
        call_main('test', [config, path, '--metrics-out', metrics])
    message = str(error.value)
    assert message.startswith(f"{path} holds none of the model's {len(weights)} tensors")
    assert '(top-level keys: meta, model)' in message
    assert "The model's weights seem to be under 'model'" in message
    assert not metrics.exists()


def test_the_hook_checks_every_file_a_runner_loads_itself(tiny_cfg):
    model = MODELS.build(tiny_cfg.model)
    hook = CheckpointFitCheckHook()
    runner = SimpleNamespace(model=model, _load_from='w.pth')
    with pytest.raises(CheckpointMismatchError, match="^w.pth holds none of the model's"):
        hook.after_load_checkpoint(runner, dict(model=model.state_dict()))
    with pytest.raises(CheckpointMismatchError, match="^w.pth holds none"):
        hook.after_load_checkpoint(runner, dict(meta=dict(iter=1)))
    hook.after_load_checkpoint(runner, dict(state_dict=model.state_dict()))  # fits
    # Too few: one tensor of the model is not enough either.
    key, value = next(iter(model.state_dict().items()))
    with pytest.raises(CheckpointMismatchError, match='trained key'):
        check_checkpoint_fits_model(model, dict(state_dict={key: value}), 'w.pth')

    class DeepSpeedStrategy:  # its engine loads (and checks) its own directory
        pass

    flexible = SimpleNamespace(model=model, _load_from='iter_3', strategy=DeepSpeedStrategy())
    hook.after_load_checkpoint(flexible, dict(meta=dict(iter=3)))


def _fine_tune(trained_work_dir, tmp_path, load_from):
    """``tools/train.py`` on the toy with ``load_from`` (not a resume)."""
    return call_main('train', [trained_work_dir['config'], '--work-dir', tmp_path / 'tune',
                               '--cfg-options', f'load_from={load_from}'],
                     plugin_dir=trained_work_dir['plugin_dir'])


def test_fine_tuning_from_a_file_that_loads_nothing_is_refused(trained_work_dir, tmp_path):
    """``load_from`` stays lenient about missing parts, but a file that fits
    none of the model's tensors used to start the run from the built
    weights, without a word."""
    weights = torch.load(trained_work_dir['work_dir'] / 'iter_4.pth',
                         weights_only=False)['state_dict']
    nested = tmp_path / 'nested.pth'
    torch.save(dict(meta=dict(iter=4), model=weights), nested)
    with pytest.raises(CheckpointMismatchError) as error:
        _fine_tune(trained_work_dir, tmp_path, nested)
    message = str(error.value)
    assert message.startswith(f"{nested} holds none of the model's 2 tensors")
    assert "The model's weights seem to be under 'model'" in message
    assert not list((tmp_path / 'tune').glob('*.pth'))

    other_shapes = tmp_path / 'other_shapes.pth'
    torch.save(dict(state_dict={k: torch.zeros(3, *v.shape) for k, v in weights.items()}),
               other_shapes)
    with pytest.raises(CheckpointMismatchError,
                       match=r"holds 2 of the model's 2 tensors, every one with another "
                             r'shape \(checkpoint vs model: linear.bias \(3, 1\) vs \(1,\)'):
        _fine_tune(trained_work_dir, tmp_path, other_shapes)


def test_fine_tuning_from_a_partial_file_still_loads_what_fits(trained_work_dir, tmp_path):
    weights = torch.load(trained_work_dir['work_dir'] / 'iter_4.pth',
                         weights_only=False)['state_dict']
    partial = tmp_path / 'partial.pth'
    torch.save(dict(state_dict={'linear.weight': weights['linear.weight'],
                                'extra.weight': torch.zeros(2)}), partial)
    _fine_tune(trained_work_dir, tmp_path, partial)
    assert (tmp_path / 'tune' / 'iter_4.pth').exists()


def test_safetensors_export_of_a_file_with_no_weights_fails(tmp_path):
    """export_safetensors.py on ``{'model': state_dict}`` wrote a safetensors
    file of 0 tensors and exited 0 ("2 non-tensor entries left out")."""
    from tools.misc.export_safetensors import main as export_main
    path, out = tmp_path / 'nested.pth', tmp_path / 'out.safetensors'
    torch.save(dict(meta=dict(iter=4), model=dict(w=torch.ones(2))), path)
    with pytest.raises(ValueError) as error:
        export_main([str(path), str(out)])
    assert str(error.value).startswith(
        f"{path} holds no tensor where MMEngine reads the weights (its 'state_dict', or "
        "its top level: keys ['meta', 'model']); nothing is written to")
    assert "The weights seem to be under 'model'" in str(error.value)
    assert not out.exists()


@pytest.mark.parametrize('tool', ['probe_token_positions', 'benchmark_infer'])
def test_analysis_tools_refuse_a_checkpoint_that_loads_nothing(tool, tiny_cfg,
                                                               grounder_checkpoint, tmp_path):
    """The probe scored, and the benchmark timed, the built weights of a file
    that fits nothing (MMEngine's ``load_checkpoint``, ``strict=False``)."""
    import importlib
    module = importlib.import_module(f'tools.analysis_tools.{tool}')
    weights = torch.load(grounder_checkpoint, weights_only=True)['state_dict']
    path = tmp_path / 'nested.pth'
    torch.save(dict(meta=dict(iter=4), model=weights), path)
    run = (module.build_model if tool == 'probe_token_positions' else module.benchmark)
    with pytest.raises(CheckpointMismatchError,
                       match=f"^{path} holds none of the model's {len(weights)} tensors"):
        run(tiny_cfg.copy(), str(path))
    model = MODELS.build(tiny_cfg.model)  # a file that fits loads as before
    from mmstvg.utils import load_fitting_checkpoint
    load_fitting_checkpoint(model, str(grounder_checkpoint))
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), key


def test_a_detector_checkpoint_that_loads_nothing_is_refused(tmp_path):
    """The construction's Grounding-DINO weights load with ``strict=False``: a
    file of another model (or another key prefix) loaded nothing, with one
    warning, and every box came from the random initialisation."""
    from mmstvg.data_construction import load_detector_weights
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    path = tmp_path / 'other.pth'
    torch.save(dict(state_dict={'backbone.0.weight': torch.zeros(2, 2)}), path)
    with pytest.raises(ValueError, match=rf"^{path}: none of its 1 keys is a key of the "
                                         r"detector .*\['backbone.0.weight'\].*\['0.bias', "
                                         r"'0.weight'\]\): nothing would load"):
        load_detector_weights(model, str(path))
    torch.save(dict(state_dict={'0.weight': torch.ones(2, 2)}), path)  # partial: loads
    assert load_detector_weights(model, str(path)) == (['0.bias'], [])
    assert torch.equal(model[0].weight, torch.ones(2, 2))
