"""The from-scratch model on a video over 60 s: the time-token limit is said.

The toy tokenizer has one token per 0.1 s from 0.0 to 60.0 s; the time
pointer needs every frame time and the duration as one token. A longer video
fails with the limit, the time asked for, the video and the way out (cut the
video, or ``build_toy_tokenizer(max_seconds=...)``), and a toy tokenizer
built with a longer range points at its times, keeping every other token's id.
"""
import pytest
import torch

from mmstvg.models.language.answer_coder_table import AnswerCoderTable
from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from mmstvg.models.space_decoders.head_structures import FrameOutputs
from mmstvg.structures import GroundingDataSample
from projects.spacevllm.spacevllm.addons import (SnappedSpanAnswer, TimeStampPointer,
                                                 one_token_time_limit)

FRAME_TIMES = [0.0, 30.0, 61.5]
DURATION = 75.0


def test_a_video_past_the_toy_time_tokens_names_the_limit_and_the_way_out():
    answer = SnappedSpanAnswer(tokenizer=build_toy_tokenizer())
    with pytest.raises(ValueError) as error:
        answer.boundary_time_ids(FRAME_TIMES, DURATION)
    message = str(error.value)
    assert "the time '61.5' s" in message
    assert 'Its time tokens go from 0.0 to 60.0 s, one per 0.1 s' in message
    assert 'the toy tokenizer has one token per 0.1 s up to 60.0 s' in message
    assert 'this video needs times up to 75.0 s' in message
    assert 'Cut the video to at most 60.0 s' in message
    assert 'build_toy_tokenizer(max_seconds=80.0)' in message
    assert '--max-seconds 80.0' in message
    assert 'Use the toy tokenizer' not in message  # it is the toy tokenizer


def test_the_grounder_names_the_sample():
    """The time pointer's ids fail with the sample's video id and length."""
    answer = AnswerCoderTable(SnappedSpanAnswer(tokenizer=build_toy_tokenizer()))
    sample = GroundingDataSample(metainfo=dict(video_id='long_video', task='stvg',
                                               frame_times=FRAME_TIMES, duration=DURATION))
    frames = FrameOutputs(num_frames=[3], states=torch.zeros(1, 3, 8))
    with pytest.raises(ValueError, match=r"^sample 'long_video' \(75\.0 s long\): "
                       r'.*Cut the video to at most 60\.0 s'):
        TimeStampPointer(hidden_dim=8).bind(frames, [sample], answer)


def test_a_toy_tokenizer_with_a_longer_range_points_at_long_videos():
    default, longer = build_toy_tokenizer(), build_toy_tokenizer(max_seconds=120.0)
    assert one_token_time_limit(default) == 60.0
    assert one_token_time_limit(longer) == 120.0
    answer = SnappedSpanAnswer(tokenizer=longer)
    ids = answer.boundary_time_ids(FRAME_TIMES, DURATION)
    assert longer.convert_ids_to_tokens(ids) == ['0.0', '30.0', '61.5', '75.0']
    # The new times come last: every default token keeps its id.
    longer_vocab = longer.get_vocab()
    assert all(longer_vocab[word] == index for word, index in default.get_vocab().items())
    assert len(longer) == len(default) + 600
    with pytest.raises(ValueError, match='max_seconds must be at least 60.0'):
        build_toy_tokenizer(max_seconds=30.0)
