"""The zero-shot figures of a base from its answers, by hand (the generation
itself runs in tests/test_configs/test_base_pretrain_configs.py)."""
import pytest

from tools.analysis_tools.base_zero_shot import score_answers


def entry(entry_id, reference, span=(1.0, 3.0)):
    return dict(id=entry_id, gt_span_seconds=list(span),
                conversations=[dict(value='<image>\nq'), dict(value=reference)])


def test_score_answers_by_hand():
    entries = [
        entry('a_cap', 'The video lasts 4.0s. A red circle moves left.'),
        entry('a_when', 'The red circle moves left from 1.0s to 3.0s.'),
        entry('b_cap', 'The video lasts 2.0s. A blue square is still.'),
        entry('b_when', 'The blue square moves up from 0.0s to 1.0s.', span=(0.0, 1.0)),
        entry('c_cap', 'One fact.'),
        entry('c_when', 'The circle moves from 2.0s to 4.0s.', span=(2.0, 4.0)),
    ]
    answers = {
        'a_cap': 'The video lasts 4.0s. A red circle moves right.',  # 1 of 2
        'a_when': 'It moves left from 2.0s to 3.0s.',  # tIoU 1/2
        'b_cap': 'The video lasts 2.0s. A blue square is still.',  # 2 of 2
        'b_when': 'The blue square does not move.',  # no span
        'c_cap': 'Nothing.',  # 0 of 1
        'c_when': 'from 2.2s to 4.0s',  # tIoU 0.9
    }
    figures = score_answers(entries, answers)
    assert figures['caption_sentence_recall'] == pytest.approx(100 * (0.5 + 1 + 0) / 3)
    assert figures['m_tIoU'] == pytest.approx(100 * (0.5 + 0 + 0.9) / 3)
    assert figures['R@0.5'] == pytest.approx(200 / 3)
    assert figures['R@0.7'] == pytest.approx(100 / 3)
    assert (figures['num_videos'], figures['num_no_span']) == (3, 1)


def test_a_lost_answer_is_an_error():
    with pytest.raises(KeyError):
        score_answers([entry('a_when', 'x')], {})
