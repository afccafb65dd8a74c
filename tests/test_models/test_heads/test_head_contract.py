"""Every registered head, built tiny and used without the grounder.

The one contract (issue 30): ``forward(head_inputs)`` on a :class:`HeadInputs`
(a space decoder's ``forward(head_inputs, return_states=False)``), and what it
returns goes to the head's own ``loss(outs, data_samples)`` and
``predict(outs, data_samples)``. The heads are read from the registries: a
space decoder is any class in ``SPACE_DECODERS``, a head any class in
``MODELS`` with ``loss`` and ``predict`` that is not a grounder, both from
mmstvg or its projects (not a test's own).
"""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope

import projects.spacevllm.spacevllm  # noqa: F401  (registers the project's heads)
from mmstvg.models.space_decoders.head_structures import HeadInputs
from mmstvg.registry import MODELS, SPACE_DECODERS
from mmstvg.utils import register_all_modules
from models_testing_utils import make_sample

DIM, FRAMES = 8, 3
#: Arguments of a head's other readings, beside its defaults.
VARIANTS = {'ReferencePointSpaceDecoder': [dict(frame_token_grid='auto'),
                                           dict(frame_token_grid=(2, 2))]}


def _ours(cls) -> bool:
    return cls.__module__.startswith(('mmstvg.', 'projects.'))


def _registered():
    register_all_modules()
    decoders = sorted(n for n, c in SPACE_DECODERS.module_dict.items() if _ours(c))
    heads = sorted(n for n, c in MODELS.module_dict.items()
                   if _ours(c) and n not in SPACE_DECODERS.module_dict
                   and hasattr(c, 'loss') and hasattr(c, 'predict')
                   and not issubclass(c, BaseModel))
    return decoders, heads


DECODERS, HEADS = _registered()


def _cases(names):
    return [(name, kwargs) for name in names for kwargs in [{}] + VARIANTS.get(name, [])]


def _inputs(frame_grids=((2, 2), (1, 4))):
    gen = torch.Generator().manual_seed(0)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 3:] = False
    return HeadInputs(torch.randn(2, FRAMES, DIM, generator=gen),
                      torch.randn(2, FRAMES, 4, DIM, generator=gen),
                      torch.randn(2, 5, DIM, generator=gen), mask,
                      frame_grids=None if frame_grids is None else list(frame_grids))


def _samples():
    samples = [make_sample('stvg', num_sampled=FRAMES, span=(0, 15)),
               make_sample('tvg', num_sampled=FRAMES, seed=1)]
    for sample in samples:
        sample.pred_span_frames = torch.tensor([0, 20])
    return samples


def _check_losses(losses, module):
    assert losses and all(name.startswith('loss') for name in losses)
    total = sum(losses.values())
    assert total.dim() == 0 and torch.isfinite(total)
    total.backward()
    assert any(p.grad is not None for p in module.parameters())


def test_the_registries_hold_the_heads():
    assert {'MLPBoxHead', 'QueryGuidedSpaceDecoder', 'ReferencePointSpaceDecoder'} <= \
        set(DECODERS)
    assert 'QuerySpanScoreHead' in HEADS


@pytest.mark.parametrize('name,kwargs', _cases(DECODERS))
def test_a_space_decoder_takes_head_inputs(name, kwargs):
    init_default_scope('mmstvg')
    torch.manual_seed(0)
    decoder = SPACE_DECODERS.build(dict(type=name, hidden_dim=DIM, **kwargs))
    inputs = _inputs()
    boxes = decoder(inputs)
    assert tuple(boxes.shape) == (2, FRAMES, 4)
    assert bool(((boxes >= 0) & (boxes <= 1)).all())
    with_states, states = decoder(inputs, return_states=True)
    torch.testing.assert_close(with_states, boxes)
    assert tuple(states.shape) == (2, FRAMES, DIM)
    _check_losses(decoder.loss(boxes, _samples()), decoder)
    samples = _samples()
    decoder.predict(boxes.detach(), samples)
    assert [tuple(s.pred_boxes.shape) for s in samples] == [(FRAMES, 4)] * 2


@pytest.mark.parametrize('name,kwargs', _cases(HEADS))
def test_a_head_takes_head_inputs(name, kwargs):
    init_default_scope('mmstvg')
    torch.manual_seed(0)
    head = MODELS.build(dict(type=name, hidden_dim=DIM, **kwargs))
    outs = head(_inputs(frame_grids=None))
    assert outs.shape[:2] == (2, FRAMES)
    _check_losses(head.loss(outs, _samples()), head)
    samples = _samples()
    for sample in samples:
        sample.pred_boxes = torch.zeros(FRAMES, 4)  # a space decoder predicts first
    head.predict(outs.detach(), samples)
