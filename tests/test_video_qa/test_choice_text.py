"""The multiple-choice reply parser and answer part on good and malformed replies.

Reply forms are those lmms-eval's rule-based extraction accepts
(``lmms_eval/tasks/{videomme,mvbench,egoschema,tempcompass}/utils.py``).
"""
import pytest

from mmstvg.models.grounders.prediction_packing import pack_choice
from mmstvg.models.language import (AnswerCoderTable, MultipleChoiceAnswer, format_options,
                                    parse_choice, strip_option_letter)
from mmstvg.structures import GroundingDataSample

OPTIONS = ['a red circle', 'a blue square', 'a green triangle', 'a yellow star']


def test_format_options_styles():
    assert format_options(['x', 'y']) == 'A. x\nB. y'
    assert format_options(['x', 'y'], style='paren') == '(A) x\n(B) y'
    with pytest.raises(ValueError, match='option style'):
        format_options(['x', 'y'], style='roman')
    with pytest.raises(ValueError, match='2 to 26'):
        format_options(['x'])


@pytest.mark.parametrize('reply,expected', [
    ('B', 1), ('(B)', 1), ('B.', 1), ('B)', 1), (' C ', 2), ('D: a yellow star', 3),
    ('B. a blue square', 1), ('(C) a green triangle', 2), ('A', 0),
    ('The answer is B', 1), ('The best answer is: (D)', 3), ('Answer: C.', 2),
    ('The correct answer is C.', 2),
    ('a green triangle', 2), ('A Yellow Star.', 3),           # the option's text
    ('I think it is C, the triangle', 2),                     # one lone letter
    ('It is a blue square.', 1),                              # one option inside
])
def test_parse_good_replies(reply, expected):
    assert parse_choice(reply, OPTIONS) == expected


@pytest.mark.parametrize('reply', [
    '', '   ', 'E', '(F)',                    # empty, or a letter past the options
    'B or C', 'Because of the motion',        # ambiguous; a capital inside a word
    'a purple hexagon', 'I do not know',      # no option
    'a red circle and a blue square',         # two options' texts
])
def test_parse_malformed_replies(reply):
    assert parse_choice(reply, OPTIONS) is None


def test_option_letters_in_options_are_ignored():
    lettered = ['A. ' + o for o in OPTIONS]
    assert parse_choice('a blue square', lettered) == 1
    assert strip_option_letter('(C) a green triangle') == 'a green triangle'


def _qa_sample(choice=2):
    sample = GroundingDataSample()
    sample.set_metainfo(dict(task='mcqa', sample_id='q0', sentence='Which?',
                             options=OPTIONS, gt_choice=choice))
    return sample


def test_answer_part_writes_letter_and_counts_failures():
    answer = MultipleChoiceAnswer()
    sample = _qa_sample(2)
    assert answer.encode(sample, [0.0], 1.0) == 'C'
    assert MultipleChoiceAnswer(answer_template='{letter}. {option}').encode(
        sample, [0.0], 1.0) == 'C. a green triangle'
    table = AnswerCoderTable(answer)
    assert table.generates_text(sample) and table.coder(sample) is answer
    results = [table.decode(sample, text) for text in ('The answer is D', 'no idea')]
    pack_choice(sample, 'The answer is D', results[0])
    assert (sample.pred_choice, sample.pred_letter, sample.pred_parse_ok) == (3, 'D', True)
    pack_choice(sample, 'no idea', results[1])
    assert (sample.pred_choice, sample.pred_letter, sample.pred_parse_ok) == (-1, '', False)
    # the failures are the samples' (pred_parse_ok), as the metric counts them
    assert [r.ok for r in results] == [True, False]
    assert results[0].span is None  # a QA answer has no span


def test_answer_part_delegates_grounding_samples():
    answer = MultipleChoiceAnswer(grounding=dict(type='SpanAnswer', precision=1))
    table = AnswerCoderTable(answer)
    sample = GroundingDataSample()
    sample.set_metainfo(dict(task='tvg', video_id='v', duration=10.0))
    import torch
    sample.gt_span_seconds = torch.tensor([1.0, 2.5])
    assert table.encode(sample, [0.0], 10.0) == 'The event happens from 1.0 to 2.5 seconds.'
    result = table.decode(sample, 'from 3.0 to 4.0')
    assert result.span == (3.0, 4.0) and result.ok
    # the grounding sample's coder is the grounding answer itself (no delegation)
    assert table.coder(sample) is answer.grounding and table.coder(sample).precision == 1
    assert not hasattr(answer, 'precision')


def test_answer_part_rejects_bad_qa_samples():
    answer = MultipleChoiceAnswer()
    with pytest.raises(KeyError, match='gt_choice'):
        answer.encode(_qa_sample(7), [0.0], 1.0)
    sample = GroundingDataSample()
    sample.set_metainfo(dict(task='mcqa', sample_id='q1', options=['only one']))
    with pytest.raises(KeyError, match='at least 2 options'):
        answer.encode(sample, [0.0], 1.0)


def test_options_in_prompt_reads_each_benchmarks_listing():
    from mmstvg.models.language import format_options, options_in_prompt
    options = ['a red ball', 'two (small) cubes', 'B-roll']
    for style in ('dot', 'paren'):
        prompt = f'Question: what?\nOption:\n{format_options(options, style)}\nAnswer:'
        assert options_in_prompt(prompt) == options
    assert options_in_prompt('Earlier: A. x\nB. y\nNow:\nA) one\nB) two\nC: three') == [
        'one', 'two', 'three']
    assert options_in_prompt('A. only one') == []
    assert options_in_prompt('A. x\nC. skipped B') == []
    assert options_in_prompt('Describe the video.') == []
