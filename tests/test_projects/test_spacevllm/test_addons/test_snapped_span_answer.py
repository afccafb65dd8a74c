"""SnappedSpanAnswer (ours): spans snapped onto the shown frame times, written
with the toy tokenizer and with the real Qwen2 one (moved from
tests/test_models/test_span_text.py and test_qwen2_tokenizer.py)."""
import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from mmstvg.models.language import format_span, parse_span
from mmstvg.structures import GroundingDataSample, seconds_to_frames
from projects.spacevllm.spacevllm.addons import (SnappedSpanAnswer, digits_for_fps,
                                                 snap_span_to_frames)


# --------------------------------------------------- answers on sampled frames
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
                                        SpanAnswer)
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


# ------------------------------------------- the real Qwen2 tokenizer (BPE times)
@pytest.fixture(scope='module')
def tokenizer(qwen2_tokenizer_dir):
    return AutoTokenizer.from_pretrained(qwen2_tokenizer_dir)


def _pipeline_sample(span_frames, fps, num_frames, frame_inds):
    """An STVG sample as the pipeline packs it (float32 seconds, frame indices)."""
    sample = GroundingDataSample(metainfo=dict(
        task='stvg', video_id='v', fps=fps, num_frames=num_frames,
        duration=num_frames / fps, frame_inds=frame_inds, frame_times=frame_inds / fps))
    sample.gt_span_frames = torch.tensor(span_frames)
    sample.gt_span_seconds = torch.tensor(span_frames, dtype=torch.float32) / fps
    return sample


@pytest.mark.parametrize('fps', [5.0, 8.0, 10.0, 12.5, 15.0, 23.976, 24.0, 25.0, 29.97, 30.0,
                                 48.0, 50.0, 59.94, 60.0])
def test_snapped_answers_map_back_to_exactly_their_sampled_frames(tokenizer, fps):
    """Property (issue 13 item 4): for random video lengths, sampled frame
    counts and spans, the answer SnappedSpanAnswer writes, decoded by the real
    tokenizer, parsed and mapped to frames at the video's fps, holds exactly
    the ground truth's sampled frames (0 wrong). At the toy's 8 fps it writes
    what it always wrote (one decimal, the shown frame times)."""
    snapped = SnappedSpanAnswer(tokenizer)
    rng = np.random.default_rng(int(fps * 100))
    checked = wrong = 0
    for _ in range(150):
        num_frames = int(rng.integers(16, int(120 * fps)))
        num_sampled = int(rng.choice([8, 16, 32, 64]))
        inds = np.linspace(0, num_frames - 1, num_sampled).round().astype(np.int64)
        start = int(rng.integers(0, num_frames - 1))
        end = int(rng.integers(start + 1, num_frames + 1))
        gt_inside = (inds >= start) & (inds < end)
        if not gt_inside.any():
            continue
        sample = _pipeline_sample((start, end), fps, num_frames, inds)
        answer = snapped.encode(sample, inds / fps, num_frames / fps)
        assert answer.count('.') == 3 and snapped.digits(sample) == (1 if fps < 10 else 2)
        span = parse_span(tokenizer.decode(tokenizer(answer).input_ids))
        pred = seconds_to_frames(span, fps, num_frames)
        wrong += int(((inds >= pred[0]) & (inds < pred[1]) != gt_inside).any())
        checked += 1
        if fps == 8.0:  # the toy's answers, as written before (seconds snapped at 0.1 s)
            old = snap_span_to_frames((start / fps, end / fps), inds / fps, num_frames / fps)
            assert answer == format_span(*old, 1)
    assert checked > 100 and wrong == 0


def test_digits_for_fps():
    assert [digits_for_fps(f) for f in (0.5, 1.0, 5.0, 8.0, 9.99, 10.0, 29.97, 60.0, 120.0)] \
        == [0, 1, 1, 1, 1, 2, 2, 2, 3]
    with pytest.raises(ValueError, match='fps'):
        digits_for_fps(0.0)
