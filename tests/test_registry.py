import sys

import pytest
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from mmstvg.registry import (LLM_BACKBONES, MODELS, QUERY_INTERLEAVERS, SPACE_DECODERS,
                             VISION_ENCODERS)
from mmstvg.utils import register_all_modules

PLUGIN_REGISTRIES = [VISION_ENCODERS, QUERY_INTERLEAVERS, LLM_BACKBONES, SPACE_DECODERS]


@pytest.mark.parametrize('registry', PLUGIN_REGISTRIES, ids=lambda r: r.name)
def test_plugin_registry_builds_from_type_string(registry):
    name = f'_Probe{registry.name.title().replace(" ", "")}'

    class Probe(nn.Module):

        def __init__(self, width=1):
            super().__init__()
            self.width = width

    registry.register_module(name=name, module=Probe, force=True)
    init_default_scope('mmstvg')
    # Plain name, scoped name and the class itself all give the part ...
    assert registry.build(dict(type=name, width=3)).width == 3
    assert registry.build(dict(type=f'mmstvg.{name}', width=4)).width == 4
    assert registry.build(dict(type=Probe, width=5)).width == 5
    # ... and every part is a model too, so MODELS.build finds it.
    assert MODELS.build(dict(type=name, width=6)).width == 6
    # A part of another kind is not found in this registry.
    others = [r for r in PLUGIN_REGISTRIES if r is not registry]
    assert name not in others[0].module_dict


def test_mmdet_losses_build_through_scope_prefix():
    init_default_scope('mmstvg')
    loss = MODELS.build(dict(type='mmdet.GIoULoss', loss_weight=2.0))
    assert type(loss).__name__ == 'GIoULoss' and loss.loss_weight == 2.0


def test_module_outside_package_registers_through_custom_imports(tmp_path, monkeypatch):
    from tests.test_training.toy_plugin_source import PLUGIN_SOURCE
    (tmp_path / 'outside_plugin_a.py').write_text(PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    SPACE_DECODERS.module_dict.pop('ToyHeadFromOutside', None)
    MODELS.module_dict.pop('ToyHeadFromOutside', None)
    MODELS.module_dict.pop('ToyRegressor', None)
    from mmstvg.registry import DATASETS
    DATASETS.module_dict.pop('ToyRegressionDataset', None)
    # What Runner does with `custom_imports=dict(imports=[...])`.
    import_modules_from_strings(['outside_plugin_a'])
    head = SPACE_DECODERS.build(dict(type='ToyHeadFromOutside', hidden_dim=16))
    assert head.hidden_dim == 16
    sys.modules.pop('outside_plugin_a', None)


def test_register_all_modules_sets_default_scope():
    register_all_modules(init_default_scope=True)
    from mmengine import DefaultScope
    assert DefaultScope.get_current_instance().scope_name == 'mmstvg'
