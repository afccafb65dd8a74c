"""The answer coders on their own, without a grounder: encode, decode, the task table."""
import glob
import os.path as osp
import re

import pytest
import torch

from mmstvg.models.language import (AnswerCoderTable, AnswerResult, BaseAnswerCoder,
                                    FrameBoxesAnswer, FreeTextAnswer, MultipleChoiceAnswer,
                                    SpanAndBoxesAnswer, SpanAnswer, WholeImageAnswer,
                                    answer_coder_table, spans_whole_input)
from mmstvg.models.language.span_text import REC_ANSWER
from mmstvg.registry import TASK_UTILS
from mmstvg.structures import ALL_TASKS, GroundingDataSample
# SpaceVLLM's answer on the shown frame times, an answer coder like the core's.
from projects.spacevllm.spacevllm.addons import SnappedSpanAnswer
from models_testing_utils import make_sample

OPTIONS = ['a red circle', 'a blue square', 'a green triangle']


def _qa_sample(choice=1):
    sample = GroundingDataSample()
    sample.set_metainfo(dict(task='mcqa', sample_id='q0', sentence='Which?', options=OPTIONS,
                             gt_choice=choice))
    return sample


def _fields(sample):
    return set(sample.keys()) | set(sample.metainfo_keys())


@pytest.mark.parametrize('answer, expected', [
    (dict(type='SpanAnswer'),
     dict(stvg='SpanAnswer', tvg='SpanAnswer', rec='WholeImageAnswer')),
    (dict(type='SnappedSpanAnswer'),
     dict(stvg='SnappedSpanAnswer', tvg='SnappedSpanAnswer', rec='WholeImageAnswer')),
    (dict(type='SpanAndBoxesAnswer'),
     dict(stvg='SpanAndBoxesAnswer', tvg='SpanAndBoxesAnswer', rec='FrameBoxesAnswer')),
    (dict(type='MultipleChoiceAnswer'),
     dict(stvg='SpanAnswer', tvg='SpanAnswer', rec='WholeImageAnswer',
          mcqa='MultipleChoiceAnswer')),
    (dict(type='FreeTextAnswer'), dict(caption='FreeTextAnswer', open_qa='FreeTextAnswer')),
    (dict(type='FreeTextAnswer', grounding=dict(type='SnappedSpanAnswer')),
     dict(stvg='SnappedSpanAnswer', tvg='SnappedSpanAnswer', rec='WholeImageAnswer',
          caption='FreeTextAnswer', open_qa='FreeTextAnswer')),
])
def test_the_table_gives_each_task_its_coder(answer, expected):
    table = TASK_UTILS.build(dict(type='AnswerCoderTable', answer=answer))
    assert {task: type(coder).__name__ for task, coder in table.coders.items()} == expected
    assert set(answer_coder_table.TASK_ANSWERS) == set(ALL_TASKS)
    assert all(isinstance(c, BaseAnswerCoder) for c in table.coders.values())


def test_a_task_without_a_coder_names_the_answer_to_configure():
    with pytest.raises(ValueError, match="SpanAnswer answers no 'mcqa'.*MultipleChoiceAnswer"):
        AnswerCoderTable(SpanAnswer()).coder(_qa_sample())
    with pytest.raises(ValueError, match="FreeTextAnswer answers no 'stvg'.*grounding=dict"):
        AnswerCoderTable(FreeTextAnswer()).encode(make_sample('stvg'), [0.0], 1.0)
    unknown = GroundingDataSample(metainfo=dict(task='vqa', video_id='v'))
    with pytest.raises(ValueError, match="task 'vqa'"):
        AnswerCoderTable(SpanAnswer()).coder(unknown)
    with pytest.raises(TypeError, match='BaseAnswerCoder'):
        AnswerCoderTable(dict(type='AnswerCoderTable', answer=dict(type='SpanAnswer')))


def test_span_answer_encodes_and_decodes_without_writing_to_the_sample():
    coder = SpanAnswer(precision=1)
    sample = make_sample('stvg')  # span [5, 15) of a 20-frame 5 fps video: 1.0 to 3.0 s
    assert coder.encode(sample, [0.0, 1.2, 2.6, 3.8], 4.0) == \
        'The event happens from 1.0 to 3.0 seconds.'
    before = _fields(sample)
    assert coder.decode(sample, 'The event happens from 0.5 to 9.9 seconds.') == \
        AnswerResult(span=(0.5, 4.0))  # clipped to the 4 s video
    for bad in ('The event happens soon', 'from 3.0 to 1.0 seconds'):
        result = coder.decode(sample, bad)
        assert not result.ok and result.span is None and result.choice is None
    assert _fields(sample) == before
    # snapped: the first sampled frame inside, the first after (sampled 0, 6, 13, 19)
    snapped = SnappedSpanAnswer()
    assert snapped.encode(sample, [0.0, 1.2, 2.6, 3.8], 4.0) == \
        'The event happens from 1.2 to 3.8 seconds.'


def test_whole_image_answer_is_a_fixed_phrase_and_the_whole_image():
    table = AnswerCoderTable(dict(type='SpanAnswer'))
    rec = make_sample('rec')
    assert table.encode(rec, [0.0], 1.0) == REC_ANSWER
    assert not table.generates_text(rec) and table.generates_text(make_sample('stvg'))
    assert table.decode(rec, '') == AnswerResult(span=(0.0, 1.0))
    assert WholeImageAnswer().decode(GroundingDataSample(), '').span == (0.0, 1.0)
    assert spans_whole_input(rec) and table.whole_span(rec) and table.has_boxes(rec)
    tvg = make_sample('tvg')
    assert not spans_whole_input(tvg) and not table.has_boxes(tvg)


def test_text_boxes_are_decoded_with_their_scores_and_malformed_count():
    coder = SpanAndBoxesAnswer(box_precision=1)
    sample = make_sample('stvg', ori_shape=(40, 60))
    before = _fields(sample)
    result = coder.decode(sample, 'The event happens from 1.0 to 3.0 seconds. '
                          'frame 1: [0.1, 0.2, 0.5, 0.6]; frame 2: [0.5, 0.5]')
    assert result.ok and result.span == (1.0, 3.0) and result.num_malformed_boxes == 1
    assert result.box_scores.tolist() == [0.0, 1.0, 0.0, 0.0]
    torch.testing.assert_close(result.boxes[1], torch.tensor([0.3, 0.4, 0.4, 0.4]))
    assert result.boxes[[0, 2, 3]].abs().sum() == 0
    assert _fields(sample) == before  # no pred_num_malformed_boxes written here
    # a reply without a span: not ok, the boxes still read
    failed = coder.decode(sample, 'frame 1: [0.1, 0.2, 0.5, 0.6]')
    assert not failed.ok and failed.span is None and failed.box_scores.sum() == 1
    # REC: the boxes only, the span the whole image
    rec = make_sample('rec', ori_shape=(40, 60))
    rec.gt_boxes[0] = torch.tensor([0.0, 0.0, 60.0, 20.0])
    boxes_only = FrameBoxesAnswer(box_precision=1)
    assert boxes_only.encode(rec, [0.0], 1.0) == 'frame 0: [0.0, 0.0, 1.0, 0.5]'
    result = boxes_only.decode(rec, 'frame 0: [0.0, 0.0, 1.0, 0.5]')
    assert result.ok and result.span == (0.0, 1.0) and result.num_malformed_boxes == 0
    del rec.gt_boxes
    with pytest.raises(KeyError, match='no gt_boxes'):
        boxes_only.encode(rec, [0.0], 1.0)
    with pytest.raises(TypeError, match='must build a SpanAnswer'):
        SpanAndBoxesAnswer(span=dict(type='MultipleChoiceAnswer'))


def test_choice_answer_decodes_a_letter_or_minus_one():
    coder = MultipleChoiceAnswer()
    sample = _qa_sample(1)
    assert coder.encode(sample, [0.0], 1.0) == 'B'
    assert coder.decode(sample, '(C) a green triangle') == AnswerResult(choice=2)
    assert coder.decode(sample, 'no idea') == AnswerResult(choice=-1, ok=False)
    table = AnswerCoderTable(coder)
    assert not table.time_pointed(sample) and table.time_pointed(make_sample('stvg'))
    assert coder.prediction == 'choice' and not hasattr(coder, 'precision')


def test_free_text_answer_reads_any_reply():
    coder = FreeTextAnswer()
    sample = GroundingDataSample(metainfo=dict(task='caption', questions=['Describe.'],
                                               answers=['A red circle moves left.']))
    assert coder.encode(sample, [0.0], 1.0) == 'A red circle moves left.'
    assert coder.decode(sample, ' anything ') == AnswerResult()
    assert coder.prediction == 'text' and not coder.time_pointed


def test_unparsable_replies_are_logged_once_by_the_table(monkeypatch):
    logged = []
    monkeypatch.setattr(answer_coder_table, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    table = AnswerCoderTable(dict(type='MultipleChoiceAnswer'))
    stvg, qa = make_sample('stvg'), _qa_sample()
    table.decode(stvg, 'The event happens from 1.0 to 2.0 seconds.')
    for _ in range(6):
        table.decode(stvg, 'soon')
        table.decode(qa, 'no idea')
    assert len(logged) == 10  # the first ten, then every 100th
    assert logged[0] == ("unparsable SpanAnswer reply for 'vid0': 'soon' "
                         '(1 failures in 2 replies so far)')
    assert logged[1].startswith("unparsable MultipleChoiceAnswer reply for 'q0'")


def test_no_task_string_outside_the_table():
    """Every task the models know is named in answer_coder_table.py alone."""
    models = osp.join(osp.dirname(osp.abspath(answer_coder_table.__file__)), '..')
    pattern = re.compile(r"(?<!`)['\"](%s)['\"](?!`)" % '|'.join(ALL_TASKS))
    found = []
    for path in glob.glob(osp.join(models, '**', '*.py'), recursive=True):
        if osp.basename(path) == 'answer_coder_table.py':
            continue
        with open(path) as f:
            found += [f'{osp.relpath(path, models)}:{i + 1}: {line.strip()}'
                      for i, line in enumerate(f) if pattern.search(line)]
    assert found == []
