"""Parts plugged in from outside mmstvg through ``custom_imports`` alone.

SpaceVLLM's own parts load this way (``projects.spacevllm.spacevllm``), and so
does a user's head written in a throwaway module that mmstvg knows nothing of.
"""
import sys
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from mmstvg.models.space_decoders.base import BaseSpaceDecoder
from mmstvg.models.space_decoders.head_structures import HeadInputs
from mmstvg.registry import MODELS, QUERY_INTERLEAVERS, SPACE_DECODERS

USER_HEAD = '''
"""A user's own space decoder: a linear layer on the query state."""
from torch import nn

from mmstvg.models.space_decoders.base import BaseSpaceDecoder
from mmstvg.registry import SPACE_DECODERS


@SPACE_DECODERS.register_module()
class {class_name}(BaseSpaceDecoder):

    def __init__(self, hidden_dim, bias_value=0.0, **kwargs):
        super().__init__(hidden_dim, **kwargs)
        self.fc = nn.Linear(hidden_dim, 4)
        nn.init.zeros_(self.fc.weight)
        nn.init.constant_(self.fc.bias, bias_value)

    def forward(self, head_inputs, return_states=False):
        boxes = self.fc(head_inputs.query).sigmoid()
        return (boxes, head_inputs.query) if return_states else boxes
'''


def _write_user_module(tmp_path, module_name, class_name):
    (tmp_path / f'{module_name}.py').write_text(USER_HEAD.format(class_name=class_name))


@pytest.fixture
def user_module(tmp_path, monkeypatch, request):
    """A throwaway module on sys.path; unique names so registrations never clash."""
    suffix = f'{abs(hash(request.node.nodeid)) % 10**8}'
    module_name, class_name = f'my_stvg_head_{suffix}', f'MyCenterHead{suffix}'
    _write_user_module(tmp_path, module_name, class_name)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield module_name, class_name
    sys.modules.pop(module_name, None)
    SPACE_DECODERS.module_dict.pop(class_name, None)
    MODELS.module_dict.pop(class_name, None)


def _check_user_head(head, class_name):
    assert type(head).__name__ == class_name
    assert isinstance(head, BaseSpaceDecoder)
    # Zero weights and bias 0: every box is sigmoid(0) = 0.5 in every coordinate.
    boxes = head(HeadInputs(torch.randn(1, 2, 8), torch.randn(1, 2, 3, 8),
                            torch.randn(1, 4, 8), torch.ones(1, 4, dtype=torch.bool)))
    assert torch.equal(boxes, torch.full((1, 2, 4), 0.5))
    # The shared losses: box (0.5, 0.5, 0.5, 0.5) against (0.5, 0.5, 0.25, 0.25)
    # on the one in-span frame. L1 = 0.25 + 0.25 = 0.5, times 5 -> 2.5. GIoU: the
    # target [.375, .375, .625, .625] lies inside [.25, .25, .75, .75]:
    # IoU = .0625 / .25 = .25 and the hull is the union, loss (1 - .25) * 2 = 1.5.
    gt = torch.tensor([[[0.5, 0.5, 0.25, 0.25], [0.0, 0.0, 0.0, 0.0]]])
    losses = head.loss_by_targets(boxes, gt, torch.tensor([[True, False]]))
    assert losses['loss_bbox'].item() == pytest.approx(2.5, abs=1e-6)
    assert losses['loss_iou'].item() == pytest.approx(1.5, abs=1e-4)


def test_user_head_through_import_modules_from_strings(user_module):
    module_name, class_name = user_module
    assert SPACE_DECODERS.get(class_name) is None
    import_modules_from_strings([module_name], allow_failed_imports=False)
    head = SPACE_DECODERS.build(dict(type=class_name, hidden_dim=8))
    _check_user_head(head, class_name)
    # Registered as a model part too, so the grounder's MODELS.build finds it.
    assert MODELS.get(class_name) is type(head)
    # ... but not as another kind of part.
    assert QUERY_INTERLEAVERS.get(class_name) is None


def test_user_head_through_a_config_file_with_custom_imports(user_module, tmp_path):
    module_name, class_name = user_module
    config_path = tmp_path / 'my_config.py'
    config_path.write_text(textwrap.dedent(f'''\
        custom_imports = dict(imports=['{module_name}'], allow_failed_imports=False)
        space_decoder = dict(type='{class_name}', hidden_dim=8)
        '''))
    assert module_name not in sys.modules
    cfg = Config.fromfile(str(config_path))  # runs the custom imports
    assert module_name in sys.modules
    _check_user_head(MODELS.build(cfg.space_decoder), class_name)


def test_spacevllm_parts_through_a_config_with_custom_imports(tmp_path):
    config_path = tmp_path / 'spacevllm_parts.py'
    config_path.write_text(textwrap.dedent('''\
        custom_imports = dict(imports=['projects.spacevllm.spacevllm'],
                              allow_failed_imports=False)
        query_interleaver = dict(type='InterleavedQueries', embed_dim=8)
        space_decoder = dict(type='QueryGuidedSpaceDecoder', hidden_dim=8,
                             attention='parameter_free')
        '''))
    cfg = Config.fromfile(str(config_path))
    interleaver = QUERY_INTERLEAVERS.build(cfg.query_interleaver)
    decoder = SPACE_DECODERS.build(cfg.space_decoder)
    assert type(interleaver).__name__ == 'InterleavedQueries'
    assert type(decoder).__name__ == 'QueryGuidedSpaceDecoder'
    # Each kind is found in its own registry only.
    assert QUERY_INTERLEAVERS.get('QueryGuidedSpaceDecoder') is None
    assert SPACE_DECODERS.get('InterleavedQueries') is None
    # Parameter-free QGSD on hidden size 8: MLP 8 -> 8 -> 8 -> 4 only.
    assert sum(p.numel() for p in decoder.parameters()) == 72 + 72 + 36


def test_missing_user_module_is_a_clear_error(tmp_path):
    config_path = tmp_path / 'broken.py'
    config_path.write_text("custom_imports = dict(imports=['no_such_stvg_head_module'], "
                           'allow_failed_imports=False)\n')
    with pytest.raises(ImportError, match='no_such_stvg_head_module'):
        Config.fromfile(str(config_path))


def test_the_core_never_imports_the_project():
    """SpaceVLLM's parts and our additions register from ``projects/``; mmstvg
    names them in docstrings at most (a core without projects/ still imports)."""
    import pathlib
    import re
    core = pathlib.Path(__file__).parents[2] / 'mmstvg'
    importing = [str(path.relative_to(core.parent)) for path in sorted(core.rglob('*.py'))
                 if re.search(r'^\s*(from|import)\s+projects\b', path.read_text(), re.M)]
    assert importing == []
