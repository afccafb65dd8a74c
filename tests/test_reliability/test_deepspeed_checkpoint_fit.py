"""Item 2 of issue 15 for DeepSpeed checkpoint directories.

``tools/test.py`` and the inferencer convert a ZeRO directory with DeepSpeed's
own ``zero_to_fp32`` and check the result as any ``.pth``. The directory
here is written by hand in the layout that reader expects (one rank, ZeRO-2:
``mp_rank_00_model_states.pt`` with the parameter shapes and buffers, and an
optimizer-states file with the fp32 weights flattened into one vector), so no
DeepSpeed engine has to run.
"""
import os
import os.path as osp
from collections import OrderedDict

import pytest
import torch

import projects.spacevllm.spacevllm  # noqa: F401  (registers the QGSD)
from mmstvg.apis import GroundingInferencer
from mmstvg.engine.checkpoint_conversion import is_deepspeed_checkpoint, resolve_checkpoint
from mmstvg.registry import MODELS
from mmstvg.utils import CheckpointMismatchError, check_checkpoint_fits_model

from .test_checkpoint_fit import assert_tools_test_refuses_for_the_space_decoder
from .test_checkpoint_fit import qgsd_cfg  # noqa: F401  (fixture)


def write_zero2_directory(model: torch.nn.Module, path: str) -> str:
    """``model``'s trainable parameters and buffers as a one-rank ZeRO-2 directory.

    Frozen parameters are left out, as ``exclude_frozen_parameters`` does.
    """
    os.makedirs(path)
    params = OrderedDict((n, p.detach().float()) for n, p in model.named_parameters()
                         if p.requires_grad)
    # DeepSpeed keeps the module's state-dict buffers (persistent ones only).
    state = model.state_dict()
    buffers = {n: state[n] for n, _ in model.named_buffers() if n in state}
    flat = torch.cat([p.flatten() for p in params.values()])
    flat = torch.cat([flat, flat.new_zeros(flat.numel() % 2)])  # ZeRO-2 aligns to 2 x ranks
    torch.save(dict(module=buffers, buffer_names=list(buffers),
                    param_shapes=[OrderedDict((n, p.shape) for n, p in params.items())],
                    shared_params={}, ds_version='0.19.4', frozen_param_shapes=None,
                    frozen_param_fragments=None),
               osp.join(path, 'mp_rank_00_model_states.pt'))
    torch.save(dict(optimizer_state_dict=dict(zero_stage=2, partition_count=1,
                                              single_partition_of_fp32_groups=[flat])),
               osp.join(path, 'zero_pp_rank_0_mp_rank_00_optim_states.pt'))
    return path


@pytest.fixture(scope='module')
def deepspeed_dir(tmp_path_factory, tiny_cfg):
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg.model)
    path = tmp_path_factory.mktemp('ds') / 'work' / 'iter_3.pth'
    return model, write_zero2_directory(model, str(path))


def test_a_fitting_deepspeed_directory_converts_and_passes_the_check(deepspeed_dir,
                                                                     tiny_cfg, tmp_path):
    model, path = deepspeed_dir
    assert is_deepspeed_checkpoint(path)
    converted = resolve_checkpoint(path, str(tmp_path))
    assert converted == str(tmp_path / 'iter_3.fp32.pth')
    checkpoint = torch.load(converted, map_location='cpu', weights_only=True)
    torch.manual_seed(1)
    other = MODELS.build(tiny_cfg.model)
    check_checkpoint_fits_model(other, checkpoint, converted)  # frozen tower absent: fine
    weights = dict(model.named_parameters())
    name = next(n for n, p in weights.items() if p.requires_grad and n.startswith('llm.'))
    assert torch.equal(checkpoint['state_dict'][name], weights[name].detach())
    assert not any(k.startswith('vision_encoder.') for k in checkpoint['state_dict'])


def test_another_architectures_deepspeed_directory_fails_in_tools_test(
        deepspeed_dir, qgsd_cfg, tmp_path):  # noqa: F811
    _, path = deepspeed_dir
    assert_tools_test_refuses_for_the_space_decoder(
        qgsd_cfg, path, tmp_path / 'work' / 'iter_3.fp32.pth', tmp_path)


def test_another_architectures_deepspeed_directory_fails_in_the_inferencer(
        deepspeed_dir, qgsd_cfg):  # noqa: F811
    _, path = deepspeed_dir
    with pytest.raises(CheckpointMismatchError, match="unexpected key.*'space_decoder'"):
        GroundingInferencer(qgsd_cfg, path, device='cpu')
