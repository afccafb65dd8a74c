import numpy as np
import pytest

from mmstvg.models.language import format_span, parse_span


def test_format_span_text():
    assert format_span(3.2, 7.9) == 'The event happens from 3.2 to 7.9 seconds.'
    assert format_span(3.25, 12, precision=2) == \
        'The event happens from 3.25 to 12.00 seconds.'
    assert format_span(0.04, 1.96) == 'The event happens from 0.0 to 2.0 seconds.'
    with pytest.raises(ValueError):
        format_span(1, 2, precision=-1)


@pytest.mark.parametrize('start,end', [(0.0, 0.1), (3.2, 7.9), (12.0, 59.9), (5.5, 5.5)])
def test_round_trip(start, end):
    assert parse_span(format_span(start, end)) == (start, end)


@pytest.mark.parametrize('text,expected', [
    ('The event happens from 3.2 to 7.9 seconds .', (3.2, 7.9)),  # word-level decode
    ('It occurs from 12.0s to 18.5s.', (12.0, 18.5)),
    ('from 3 to 7 seconds', (3.0, 7.0)),
    ('FROM 1.5 until 2.5', (1.5, 2.5)),
    ('from 9.0 to 2.0 seconds', (9.0, 2.0)),  # reversed: reported as written
])
def test_parse_tolerant_forms(text, expected):
    assert parse_span(text) == expected


@pytest.mark.parametrize('text', [
    '', 'The event happens', 'from to seconds', 'from 3.2 seconds', 'between 1 and 2',
    'from -1.0 to 2.0', None
])
def test_parse_malformed_gives_none(text):
    assert parse_span(text) is None


# --------------------------------------------------- answers on sampled frames
from mmstvg.models.language.span_answer import snap_span_to_frames  # noqa: E402


@pytest.mark.parametrize('span,expected', [
    ((0.5, 1.0), (0.8, 1.2)),    # the module docstring's example
    ((0.4, 1.2), (0.4, 1.2)),    # ends on frames: unchanged (frame 1.2 s is outside)
    ((0.0, 1.6), (0.0, 1.6)),    # the whole video
    ((0.9, 1.6), (1.2, 1.6)),    # runs past the last frame: ends at the duration
    ((0.1, 0.3), (0.1, 0.3)),    # holds no sampled frame: left as it is
])
def test_snap_span_to_frames(span, expected):
    snapped = snap_span_to_frames(span, [0.0, 0.4, 0.8, 1.2], duration=1.6)
    assert snapped == pytest.approx(expected, abs=1e-12)


def test_snapped_span_covers_exactly_the_ground_truth_frames():
    """Read back as a half-open span, the snapped answer selects the same
    sampled frames as the ground truth, for every span on a 40-frame video."""
    from mmstvg.structures import frames_in_span, seconds_to_frames
    fps, num_frames = 8.0, 40
    frame_inds = np.round(np.linspace(0, num_frames - 1, 16)).astype(np.int64)
    times = frame_inds / fps
    checked = 0
    for start in range(num_frames):
        for end in range(start + 1, num_frames + 1):
            gt = frames_in_span(frame_inds, (start, end))
            if not gt.any():
                continue
            snapped = snap_span_to_frames((start / fps, end / fps), times,
                                          num_frames / fps)
            # written with one decimal, as the toy's answers are
            written = tuple(float(f'{t:.1f}') for t in snapped)
            pred = seconds_to_frames(written, fps, num_frames)
            np.testing.assert_array_equal(frames_in_span(frame_inds, pred), gt)
            checked += 1
    assert checked > 500


def test_the_answer_parts_write_exact_and_snapped_answers(toy_tokenizer_dir):
    import torch
    from transformers import AutoTokenizer

    from mmstvg.models.language import (REC_ANSWER, AnswerCoderTable, PromptBuilder,
                                        SnappedSpanAnswer, SpanAnswer)
    from mmstvg.structures import GroundingDataSample
    tokenizer = AutoTokenizer.from_pretrained(toy_tokenizer_dir)
    times = [0.0, 0.4, 0.8, 1.2]
    exact = SpanAnswer(tokenizer)
    snapped = SnappedSpanAnswer(tokenizer)
    sample = GroundingDataSample(metainfo=dict(task='stvg', video_id='v'))
    sample.gt_span_seconds = torch.tensor([0.5, 1.0])
    assert exact.encode(sample, times, 1.6) == format_span(0.5, 1.0)
    assert snapped.encode(sample, times, 1.6) == format_span(0.8, 1.2)
    rec = GroundingDataSample(metainfo=dict(task='rec'))
    assert AnswerCoderTable(snapped).encode(rec, [0.0], 1.0) == AnswerCoderTable(
        exact).encode(rec, [0.0], 1.0) == REC_ANSWER
    pieces = PromptBuilder(tokenizer, template='mmstvg').build(
        'stvg', 'the red circle moves left', 1.6, times,
        answer=snapped.encode(sample, times, 1.6))
    answer = tokenizer(format_span(0.8, 1.2), add_special_tokens=False)['input_ids']
    assert pieces.answer_ids == answer + [tokenizer.eos_token_id]
    # the answer's start token is the very token of that frame's time stamp
    assert answer[4] == pieces.frame_prefix_ids[2][0]
    del sample.gt_span_seconds
    with pytest.raises(KeyError, match="'v'.*gt_span_seconds"):
        snapped.encode(sample, times, 1.6)
    with pytest.raises(ValueError, match='precision'):
        SpanAnswer(tokenizer, precision=-1)
    with pytest.raises(TypeError, match='answer_times'):
        PromptBuilder(tokenizer, answer_times='sampled_frames')
