"""Issue 31: sentences about one video share its encoding and prompt prefix, exactly.

``predict`` with ``share_video`` must give every sentence the text, span and
boxes it gets alone (float tolerance on boxes), while running the vision parts
and the prefix once per video.
"""
import copy

import torch

from mmstvg.models.grounders.shared_video import (LastVideoCache, layout_moved_after,
                                                  shared_prefix_length, video_share_groups)
from mmstvg.registry import MODELS
from models_testing_utils import make_batch, make_sample

SENTENCES = ['the red circle moves left', 'a blue square appears',
             'the green triangle stays', 'the red circle moves']


def _batch(model, num_on_video=3, with_other=True):
    """``num_on_video`` sentences on one video (equal frames), then one other video."""
    samples = [make_sample('stvg', num_sampled=4, sentence=s, seed=0)
               for s in SENTENCES[:num_on_video]]
    data = model.data_preprocessor(make_batch(samples, seed=0), False)
    if with_other:
        other = make_sample('stvg', num_sampled=4, sentence='a dog runs', seed=1)
        more = model.data_preprocessor(make_batch([other], seed=1), False)
        data = dict(inputs=torch.cat([data['inputs'], more['inputs']]),
                    data_samples=data['data_samples'] + more['data_samples'])
    video = data['inputs'][0]
    for b in range(num_on_video):  # the same frames, as the pipeline decodes them
        data['inputs'][b] = video
    return data


class _Counter:
    """Counts the frames the tower sees and the tokens the LLM is run on."""

    def __init__(self, model, monkeypatch):
        self.frames, self.tokens = 0, 0
        tower, llm = model.vision_encoder.forward, model.llm.forward

        def count_frames(frames, *args, **kwargs):
            self.frames += frames.shape[0]
            return tower(frames, *args, **kwargs)

        def count_tokens(embeds, *args, **kwargs):
            self.tokens += embeds.shape[0] * embeds.shape[1]
            return llm(embeds, *args, **kwargs)

        monkeypatch.setattr(model.vision_encoder, 'forward', count_frames)
        monkeypatch.setattr(model.llm, 'forward', count_tokens)


def _predict(model, data, share, monkeypatch):
    model.share_video = share
    with monkeypatch.context() as patch:
        counter = _Counter(model, patch)
        samples = model(inputs=data['inputs'].clone(),
                        data_samples=copy.deepcopy(data['data_samples']), mode='predict')
    return samples, counter


def test_shared_prediction_equals_each_sentence_alone(grounder_cfg, monkeypatch):
    torch.manual_seed(0)
    model = MODELS.build(grounder_cfg).eval()
    data = _batch(model)
    alone, count_alone = _predict(model, data, False, monkeypatch)
    shared, count_shared = _predict(model, data, True, monkeypatch)
    for a, s in zip(alone, shared):
        assert s.metainfo['sentence'] == a.metainfo['sentence']
        assert s.pred_text == a.pred_text and len(a.pred_text) > 0
        assert torch.equal(s.pred_span_frames, a.pred_span_frames)
        assert torch.allclose(s.pred_boxes, a.pred_boxes, atol=1e-4)
    # the video of the three sentences went through the tower once, not three times
    assert count_alone.frames == 4 * 4 and count_shared.frames == 4 * 2
    assert count_shared.tokens < count_alone.tokens


def test_a_model_without_sharing_support_predicts_alone(grounder_cfg, monkeypatch):
    torch.manual_seed(0)
    model = MODELS.build(grounder_cfg).eval()
    data = _batch(model, with_other=False)
    monkeypatch.setattr(type(model.llm), 'layout_position_ids', lambda *a: None,
                        raising=False)
    groups, can_share = model._share_groups(data['inputs'], data['data_samples'])
    assert groups == [[0], [1], [2]] and not can_share


def test_groups_need_equal_frames_not_only_equal_metadata(grounder_cfg):
    torch.manual_seed(0)
    model = MODELS.build(grounder_cfg).eval()
    data = _batch(model)
    assert video_share_groups(data['inputs'], data['data_samples']) == [[0, 1, 2], [3]]
    changed = data['inputs'].clone()
    changed[1, 2, 0, 0, 0] += 1  # one value of one frame differs
    assert video_share_groups(changed, data['data_samples']) == [[0, 2], [1], [3]]


def test_prefix_stops_at_the_first_different_token_and_must_hold_the_video(grounder_cfg):
    torch.manual_seed(0)
    model = MODELS.build(grounder_cfg).eval()
    data = _batch(model, with_other=False)
    embeds, _, layouts = model.build_sequences(data['inputs'], data['data_samples'], False)
    prefix = shared_prefix_length(embeds, layouts)
    first_sentence_token = min(int(l.sentence_pos[0]) for l in layouts)
    assert prefix <= first_sentence_token
    assert prefix > int(layouts[0].query_pos.max())
    assert not torch.equal(embeds[0][prefix], embeds[1][prefix]) or \
        not torch.equal(embeds[0][prefix], embeds[2][prefix])


def test_a_sentence_before_the_video_falls_back_to_each_alone(grounder_cfg, monkeypatch,
                                                              caplog):
    torch.manual_seed(0)
    model = MODELS.build(dict(grounder_cfg, prompt=dict(template='mmstvg',
                                                        sentence_first=True))).eval()
    data = _batch(model, with_other=False)
    embeds, _, layouts = model.build_sequences(data['inputs'], data['data_samples'], False)
    assert shared_prefix_length(embeds, layouts) is None
    alone, _ = _predict(model, data, False, monkeypatch)
    shared, counter = _predict(model, data, True, monkeypatch)
    assert [s.pred_text for s in shared] == [a.pred_text for a in alone]
    assert counter.frames == 3 * 4  # each alone
    assert model._sharing_note_logged


def test_layout_moved_after_moves_only_later_positions():
    from mmstvg.models.grounders.multimodal_sequence import SequenceLayout
    layout = SequenceLayout(torch.tensor([4, 5]), torch.tensor([[1, 2], [6, 7]]),
                            torch.tensor([0, 3]), torch.tensor([9, 10]), 0, 11, 12)
    moved = layout_moved_after(layout, 6, 3)
    assert moved.query_pos.tolist() == [4, 5]
    assert moved.frame_token_pos.tolist() == [[1, 2], [9, 10]]
    assert moved.sentence_pos.tolist() == [12, 13]
    assert (moved.video_start, moved.prompt_len, moved.length) == (0, 14, 15)


def test_a_follow_up_sentence_reuses_the_last_videos_prefix(grounder_cfg, monkeypatch):
    """An interactive session: one sentence, then another on the same video, then
    another video. With model.last_video the follow-up runs neither the tower
    nor the prefix, and every answer equals the answer without the cache."""
    torch.manual_seed(0)
    model = MODELS.build(grounder_cfg).eval()
    data = _batch(model, num_on_video=2)  # two sentences on video 0, one on video 1
    asks = [[0], [1], [2], [1]]  # s0 on v0, s1 on v0, s2 on v1, s1 on v0 again

    def ask(index, share):
        return _predict(model, dict(inputs=data['inputs'][index],
                                    data_samples=[data['data_samples'][i] for i in index]),
                        share, monkeypatch)

    plain = [ask(index, False)[0][0] for index in asks]
    model.last_video = LastVideoCache()
    cached = [ask(index, True) for index in asks]
    for p, (samples, _) in zip(plain, cached):
        assert samples[0].pred_text == p.pred_text
        assert torch.allclose(samples[0].pred_boxes, p.pred_boxes, atol=1e-4)
    first, follow_up, other, back = (counter for _, counter in cached)
    assert first.frames == 4 and follow_up.frames == 0 and other.frames == 4
    assert back.frames == 4  # the cache holds the last video only
    assert follow_up.tokens < first.tokens / 2
    assert model.last_video.hits == 1
    model.last_video.clear()
    assert model.last_video.cache is None and model.last_video.frames is None
