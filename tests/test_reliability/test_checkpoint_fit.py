"""Item 2 of issue 15: a checkpoint that does not fit the model is an error.

An MLP-box-head checkpoint into a QGSD config, a checkpoint missing trained
weights, or with tensors of other shapes, fails in tools/test.py, the
inferencer and the demo, naming the file and the parts; frozen, untouched
pretrained parts may be absent (said once).
"""
import pytest
import torch

import projects.spacevllm.spacevllm  # noqa: F401  (registers the QGSD)
from demo.video_demo import main as demo_main
from mmstvg.apis import GroundingInferencer
from mmstvg.registry import MODELS
from mmstvg.utils import CheckpointMismatchError, check_checkpoint_fits_model

from .conftest import call_main, grounder_config_file


@pytest.fixture(scope='module')
def qgsd_cfg(tiny_cfg):
    """The tiny grounder with the Query-Guided Space Decoder instead of the MLP head."""
    cfg = tiny_cfg.copy()
    cfg.model = dict(cfg.model, space_decoder=dict(
        type='QueryGuidedSpaceDecoder', attention='learnable', num_heads=4))
    cfg.custom_imports = dict(imports=['projects.spacevllm.spacevllm'],
                              allow_failed_imports=False)
    return cfg


@pytest.fixture(scope='module')
def a_video(synthetic_root):
    import glob
    return sorted(glob.glob(f'{synthetic_root}/videos/*.mp4'))[0]




def assert_tools_test_refuses_for_the_space_decoder(cfg, checkpoint, loaded, tmp_path):
    """``tools/test.py`` with ``checkpoint`` (read as the file ``loaded``) fails
    before inference, naming the file and the space decoder's keys."""
    config = grounder_config_file(cfg, tmp_path / 'qgsd.py', tmp_path / 'work')
    metrics = tmp_path / 'metrics.json'
    with pytest.raises(CheckpointMismatchError) as error:
        call_main('test', [config, checkpoint, '--metrics-out', metrics])
    message = str(error.value)
    assert message.startswith(f'{loaded} does not fit the model')
    assert "unexpected key(s) in parts ['space_decoder']" in message
    assert "trained key(s) of the model missing, in parts ['space_decoder']" in message
    assert not metrics.exists()


def test_another_architecture_fails_in_tools_test(qgsd_cfg, grounder_checkpoint,
                                                  tmp_path):
    assert_tools_test_refuses_for_the_space_decoder(qgsd_cfg, grounder_checkpoint,
                                                    grounder_checkpoint, tmp_path)


def test_another_architecture_fails_in_the_inferencer_and_demo(qgsd_cfg, a_video,
                                                               grounder_checkpoint,
                                                               tmp_path):
    with pytest.raises(CheckpointMismatchError, match="parts \\['space_decoder'\\]"):
        GroundingInferencer(qgsd_cfg, grounder_checkpoint, device='cpu')
    config = grounder_config_file(qgsd_cfg, tmp_path / 'qgsd.py', tmp_path / 'work')
    out = tmp_path / 'demo' / 'out.mp4'
    with pytest.raises(CheckpointMismatchError, match=grounder_checkpoint):
        demo_main([a_video, 'the red circle', config, grounder_checkpoint,
                   '--out', str(out), '--device', 'cpu'])
    assert not out.exists()


def test_missing_trained_and_reshaped_tensors_are_errors(tiny_cfg, grounder_checkpoint,
                                                         tmp_path):
    model = MODELS.build(tiny_cfg.model)
    state = torch.load(grounder_checkpoint, weights_only=True)['state_dict']
    without_llm_head = {k: v for k, v in state.items() if 'lm_head' not in k}
    with pytest.raises(CheckpointMismatchError,
                       match=r"1 trained key\(s\) of the model missing, in parts "
                             r"\['llm'\]: llm.model.lm_head.weight"):
        check_checkpoint_fits_model(model, dict(state_dict=without_llm_head), 'x.pth')
    reshaped = dict(state)
    key = 'space_decoder.mlp.0.weight'
    reshaped[key] = torch.zeros(3, 3)
    with pytest.raises(CheckpointMismatchError,
                       match=rf'1 shape mismatch\(es\).*{key} \(3, 3\) vs'):
        check_checkpoint_fits_model(model, dict(state_dict=reshaped), 'x.pth')
    # the same through the inferencer
    path = tmp_path / 'no_lm_head.pth'
    torch.save(dict(state_dict=without_llm_head), path)
    with pytest.raises(CheckpointMismatchError, match='lm_head'):
        GroundingInferencer(tiny_cfg, str(path), device='cpu')


def test_frozen_untouched_parts_may_be_absent(tiny_cfg, grounder_checkpoint, tmp_path,
                                              a_video, monkeypatch):
    """The tiny config freezes its vision tower: a checkpoint without it loads,
    the tower keeps its built weights, and that is said once."""
    state = torch.load(grounder_checkpoint, weights_only=True)['state_dict']
    trained = {k: v for k, v in state.items() if not k.startswith('vision_encoder.')}
    assert len(trained) < len(state)
    path = tmp_path / 'trained_parts.pth'
    torch.save(dict(state_dict=trained), path)
    said = []
    monkeypatch.setattr('mmstvg.utils.checkpoint_keys.print_log',
                        lambda msg, **kw: said.append(msg))
    # Built with the checkpoint's seed, the frozen tower's built weights are
    # its weights in the checkpoint: both give the same predictions.
    torch.manual_seed(0)
    full = GroundingInferencer(tiny_cfg, grounder_checkpoint, device='cpu')
    assert said == []
    torch.manual_seed(0)
    partial = GroundingInferencer(tiny_cfg, str(path), device='cpu')
    frozen = len(state) - len(trained)
    assert said == [f"{path}: {frozen} frozen tensor(s) of parts ['vision_encoder'] are "
                    'not in the checkpoint; they keep the weights the model was built '
                    'with (its pretrained ones).']
    for key, value in trained.items():
        assert torch.equal(partial.model.state_dict()[key], value)
    assert (full(a_video, 'the red circle')['predictions']
            == partial(a_video, 'the red circle')['predictions'])
