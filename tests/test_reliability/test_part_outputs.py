"""Item 5 of issue 15: a space decoder's output is checked against the contract.

The grounder-level cases ((B, T, 5), no sigmoid, an out-of-range query index)
are in tests/test_models/test_grounder.py
(``test_part_outputs_are_checked_against_the_contract``); here the check
itself on what a plugin head could return instead of ``(B, T, 4)`` in [0, 1].
"""
import pytest
import torch

from mmstvg.models.space_decoders.base import check_box_output


@pytest.mark.parametrize('boxes, got', [
    (torch.full((2, 4), 0.5), 'got (2, 4)'),                # one box a sample
    (torch.full((2, 4, 5), 0.5), 'got (2, 4, 5)'),          # five numbers a frame
    (torch.full((4, 2, 4), 0.5), 'got (4, 2, 4)'),          # (T, B, 4) with B != T
    ([[0.5] * 4] * 4, "got <class 'list'>"),                # not a tensor
])
def test_wrong_shapes_name_the_head_and_the_expected_shape(boxes, got):
    with pytest.raises(ValueError) as error:
        check_box_output(boxes, 2, 4, 'PluginHead')
    assert str(error.value) == ('space decoder PluginHead must return boxes of shape '
                                f'(B, T, 4) = (2, 4, 4), {got}')


def test_values_outside_0_1_name_the_range():
    boxes = torch.full((2, 4, 4), 0.5)
    boxes[1, 2, 3] = 3.5
    with pytest.raises(ValueError, match=r'PluginHead must return normalised cxcywh boxes '
                                         r'in \[0, 1\] \(e.g. through a sigmoid\); got '
                                         r'values in \[0.5, 3.5\]'):
        check_box_output(boxes, 2, 4, 'PluginHead')
    check_box_output(torch.full((2, 4, 4), 0.5), 2, 4, 'PluginHead')  # fits: no error
