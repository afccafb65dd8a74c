"""FrameScoreSpanWriter: the span of the frame scores, written as the answer's sentence."""
import pytest
import torch

from mmstvg.models.language.span_text import parse_span
from mmstvg.registry import MODELS
from models_testing_utils import make_batch, make_sample
from projects.spacevllm.spacevllm.addons import best_scoring_run, run_to_seconds


@pytest.mark.parametrize('logits, run', [
    ([-1.0, 2.0, 3.0, -1.0], (1, 2)),
    ([1.0, -0.5, 1.0, -5.0], (0, 2)),    # a dip worth crossing
    ([1.0, -3.0, 1.5, -5.0], (2, 2)),    # a dip not worth it
    ([-4.0, -1.0, -2.0], (1, 1)),        # all outside: the single most likely frame
    ([2.0, -2.0, 2.0], (0, 0)),          # ties: the earliest, then the shortest
    ([0.5], (0, 0)),
])
def test_the_best_run_maximises_the_sum_of_its_logits(logits, run):
    assert best_scoring_run(logits) == run
    # against every run, by brute force
    sums = {(a, b): sum(logits[a:b + 1]) for a in range(len(logits))
            for b in range(a, len(logits))}
    assert sums[run] == max(sums.values())
    with pytest.raises(ValueError, match='at least one'):
        best_scoring_run([])


def test_a_run_ends_halfway_to_the_neighbouring_frames():
    times = [0.5, 1.5, 2.5, 3.5]
    assert run_to_seconds(1, 2, times, 4.0) == (1.0, 3.0)
    assert run_to_seconds(0, 3, times, 4.0) == (0.0, 4.0)  # the whole video
    assert run_to_seconds(3, 3, times, 4.0) == (3.0, 4.0)
    with pytest.raises(ValueError, match='does not fit'):
        run_to_seconds(2, 4, times, 4.0)


def _writer_grounder(grounder_cfg, **kwargs):
    return dict(grounder_cfg, heads=[dict(type='QuerySpanScoreHead')],
                logits_processors=[dict(type='FrameScoreSpanWriter')], **kwargs)


def test_the_grounder_refuses_a_writer_without_its_score_head(grounder_cfg):
    with pytest.raises(ValueError, match='QuerySpanScoreHead'):
        MODELS.build(dict(grounder_cfg, logits_processors=['FrameScoreSpanWriter']))
    model = MODELS.build(_writer_grounder(grounder_cfg))
    assert model.processor_names == ['span_writer']
    assert not list(model.span_writer.parameters())  # no checkpoint key


@pytest.mark.parametrize('answer', ['SpanAnswer', 'SnappedSpanAnswer'])
def test_the_answer_states_the_span_the_scores_give(grounder_cfg, answer):
    torch.manual_seed(0)
    model = MODELS.build(_writer_grounder(grounder_cfg, answer=dict(type=answer)))
    model.eval()
    samples = [make_sample('stvg', num_sampled=4, span=(5, 15)),
               make_sample('stvg', num_sampled=6, num_frames=30, span=(3, 20), seed=1),
               make_sample('tvg', num_sampled=5, num_frames=25, span=(2, 9), seed=2)]
    # scores set by hand: frames 1-2, 2-4 and 0 inside
    wanted = [(1, 2), (2, 4), (0, 0)]
    logits = torch.full((3, 6), -3.0)
    for row, (first, last) in enumerate(wanted):
        logits[row, first:last + 1] = 3.0
    head = model.frame_score_head
    head.forward = lambda head_inputs: logits[:, :head_inputs.query.shape[1]]
    data = model.data_preprocessor(make_batch(samples), False)
    predicted = model(**data, mode='predict')
    coder = model.answer.time_coder
    for sample, (first, last) in zip(predicted, wanted):
        count = sample.num_sampled_frames
        times = list(sample.metainfo['frame_times'])[:count]
        duration = float(sample.metainfo['duration'])
        span = run_to_seconds(first, last, times, duration)
        expected = coder.write_span(sample, span, times, duration)
        assert sample.pred_text.startswith(expected)
        assert tuple(sample.pred_span_seconds.tolist()) == pytest.approx(
            parse_span(expected), abs=1e-6)


def test_training_is_left_to_the_language_model(grounder_cfg):
    """The writer acts in generation only: the loss is the grounder's without it."""
    samples = [make_sample('stvg', num_sampled=4, span=(5, 15))]
    losses = []
    for cfg in (dict(grounder_cfg, heads=[dict(type='QuerySpanScoreHead')]),
                _writer_grounder(grounder_cfg)):
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        data = model.data_preprocessor(make_batch(samples), True)
        losses.append({k: v.item() for k, v in model(**data, mode='loss').items()})
    assert losses[0] == losses[1]
