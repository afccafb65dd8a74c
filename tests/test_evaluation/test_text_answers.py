"""Scores of free-text answers (the base model's zero-shot figures), by hand."""
import pytest

from mmstvg.evaluation.functional.text_answers import (parse_seconds_span,
                                                       sentence_recall,
                                                       split_sentences,
                                                       temporal_iou)


def test_split_sentences():
    assert split_sentences(' The video lasts 5.0s.  A red circle moves left! Why? ') == [
        'The video lasts 5.0s.', 'A red circle moves left!', 'Why?']
    assert split_sentences('') == []
    # A decimal point is not a sentence end.
    assert split_sentences('It moves from 1.2s to 3.5s.') == ['It moves from 1.2s to 3.5s.']


def test_sentence_recall_counts_exact_sentences():
    reference = 'The video lasts 5.0s. The red circle moves left. The blue square is still.'
    assert sentence_recall(reference, reference) == 1.0
    assert sentence_recall('The red circle moves left. Something else.', reference) == \
        pytest.approx(1 / 3)
    # Word for word: one changed word loses the sentence.
    assert sentence_recall('The video lasts 5.0s. The red circle moves right.', reference) == \
        pytest.approx(1 / 3)
    assert sentence_recall('anything', '') == 0.0


@pytest.mark.parametrize('text, span', [
    ('The red circle moves left from 1.2s to 3.5s.', (1.2, 3.5)),
    ('FROM 0s TO 12.25 s, then from 13s to 14s', (0.0, 12.25)),
    ('The blue square does not move.', None),
    ('from 1.2 to 3.5', None),
])
def test_parse_seconds_span(text, span):
    assert parse_seconds_span(text) == span


def test_temporal_iou():
    assert temporal_iou((1.0, 3.0), (2.0, 4.0)) == pytest.approx(1 / 3)
    assert temporal_iou((1.0, 3.0), (1.0, 3.0)) == 1.0
    assert temporal_iou((0.0, 1.0), (2.0, 3.0)) == 0.0
    assert temporal_iou((3.0, 1.0), (1.0, 3.0)) == 0.0  # reversed prediction
    assert temporal_iou((1.0, 1.0), (1.0, 3.0)) == 0.0  # empty prediction
