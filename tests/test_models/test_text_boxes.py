import pytest
import torch
from mmengine.logging import MMLogger

from mmstvg.evaluation import STVGMetric
from mmstvg.models.language import format_frame_boxes, parse_frame_boxes
from mmstvg.registry import MODELS
from models_testing_utils import make_batch, make_sample


def test_box_text_round_trip_and_spacing():
    text = format_frame_boxes([3, 5], [[0.123, 0.3, 0.45, 0.8], [0, 0, 1.2, 1]])
    assert text == 'frame 3: [0.12, 0.30, 0.45, 0.80]; frame 5: [0.00, 0.00, 1.00, 1.00]'
    boxes, bad = parse_frame_boxes(text, num_frames=6)
    assert bad == 0 and boxes == {3: [0.12, 0.30, 0.45, 0.80], 5: [0.0, 0.0, 1.0, 1.0]}
    spaced = 'frame 3 : [ 0.12 , 0.30 , 0.45 , 0.80 ] ;'
    assert parse_frame_boxes(spaced, 4) == ({3: [0.12, 0.30, 0.45, 0.80]}, 0)
    with pytest.raises(ValueError):
        format_frame_boxes([1], [])


def test_boxes_in_a_base_models_own_coordinates():
    from mmstvg.models.language.box_text import box_extent
    box = [[0.125, 0.25, 0.5, 1.0]]
    # Qwen2.5-VL: pixels of the resized frame it sees (img_shape 56 x 84)
    pixels = box_extent('resized_pixels', dict(img_shape=(56, 84)))
    text = format_frame_boxes([2], box, extent=pixels)
    assert text == 'frame 2: [10, 14, 42, 56]'
    assert parse_frame_boxes(text, 3, extent=pixels) == (
        {2: [10 / 84, 14 / 56, 42 / 84, 1.0]}, 0)
    assert parse_frame_boxes('frame 2: [10, 14, 85, 56]', 3, extent=pixels)[1] == 1
    # Qwen3-VL: a 0-1000 grid
    grid = box_extent('grid_1000', {})
    text = format_frame_boxes([0], box, extent=grid)
    assert text == 'frame 0: [125, 250, 500, 1000]'
    assert parse_frame_boxes(text, 1, extent=grid) == ({0: [0.125, 0.25, 0.5, 1.0]}, 0)
    with pytest.raises(ValueError, match='box coordinates must be one of'):
        box_extent('percent', {})
    answer = MODELS.build(dict(type='SpanAndBoxesAnswer', coordinates='grid_1000'))
    text = answer.text(make_sample(task='rec'), [0.0], 1.0)
    assert text.startswith('frame 0: [') and '.' not in text


def test_malformed_boxes_are_counted():
    text = ('frame 0: [0.1, 0.2, 0.3]; frame 1: [0.5, 0.5, 0.2, 0.9]; '
            'frame 9: [0.1, 0.1, 0.2, 0.2]; frame 2: [0.1, 0.1, 1.5, 0.2]; '
            'frame 3: [0.1, x, 0.2, 0.2]; frame 4: [0.1, 0.1, 0.2, 0.2]; '
            'frame 4: [0.0, 0.0, 0.1, 0.1]; frame 5: [0.1, 0.1')
    boxes, bad = parse_frame_boxes(text, num_frames=6)
    # 3 numbers / reversed x / index 9 >= 6 / 1.5 > 1 / 'x' / truncated -> 6 malformed;
    # frame 4 repeats: the first wins
    assert boxes == {4: [0.1, 0.1, 0.2, 0.2]} and bad == 6
    assert parse_frame_boxes(None, 3) == ({}, 0)


@pytest.fixture
def text_box_cfg(grounder_cfg):
    cfg = {k: v for k, v in grounder_cfg.items()
           if k not in ('query_interleaver', 'space_decoder', 'max_new_tokens')}
    return dict(cfg, type='TextBoxGroundingLLM', box_precision=1, max_new_tokens=60)


def test_text_box_answers_and_labels(text_box_cfg):
    torch.manual_seed(0)
    model = MODELS.build(text_box_cfg)
    stvg = make_sample('stvg', num_sampled=4, span=(5, 15), ori_shape=(40, 60))
    stvg.gt_boxes[1] = torch.tensor([6.0, 4.0, 30.0, 20.0])
    stvg.gt_boxes[2] = torch.tensor([12.0, 8.0, 36.0, 24.0])
    times = list(stvg.metainfo['frame_times'])
    assert model.answer.text(stvg, times, 4.0) == (
        'The event happens from 1.0 to 3.0 seconds. '
        'frame 1: [0.1, 0.1, 0.5, 0.5]; frame 2: [0.2, 0.2, 0.6, 0.6]')
    rec = make_sample('rec', ori_shape=(40, 60))
    rec.gt_boxes[0] = torch.tensor([0.0, 0.0, 60.0, 20.0])
    assert model.answer.text(rec, [0.0], 1.0) == 'frame 0: [0.0, 0.0, 1.0, 0.5]'
    assert model.answer.text(make_sample('tvg'), times, 4.0) == \
        'The event happens from 1.0 to 3.0 seconds.'
    data = model.data_preprocessor(make_batch([stvg]), True)
    _, labels, layouts = model.build_sequences(data['inputs'], data['data_samples'], True)
    answer_ids = labels[0][layouts[0].prompt_len:].tolist()
    # the word-level decoder spaces brackets apart; the parser reads it back
    decoded = model.llm.tokenizer.decode(answer_ids, skip_special_tokens=True)
    assert decoded == ('The event happens from 1.0 to 3.0 seconds. frame 1 : '
                       '[ 0.1, 0.1, 0.5, 0.5 ] ; frame 2 : [ 0.2, 0.2, 0.6, 0.6 ]')
    assert parse_frame_boxes(decoded, 4) == (
        {1: [0.1, 0.1, 0.5, 0.5], 2: [0.2, 0.2, 0.6, 0.6]}, 0)
    assert set(model(**data, mode='loss')) == {'loss_lm'}


def test_text_box_model_learns_and_parses(text_box_cfg):
    torch.manual_seed(0)
    model = MODELS.build(text_box_cfg)
    stvg = make_sample('stvg', num_sampled=4, span=(5, 15), ori_shape=(40, 60))
    stvg.gt_boxes[1] = torch.tensor([6.0, 4.0, 30.0, 20.0])
    stvg.gt_boxes[2] = torch.tensor([12.0, 8.0, 36.0, 24.0])
    data = model.data_preprocessor(make_batch([stvg]), True)
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    for _ in range(60):
        loss = model(**data, mode='loss')['loss_lm']
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    pred = model(**data, mode='predict')[0]
    assert pred.pred_parse_ok and pred.pred_span_frames.tolist() == [5, 15]
    assert pred.pred_box_mask.tolist() == [False, True, True, False]
    # 0.1 precision: [0.1, 0.1, 0.5, 0.5] of a 60 x 40 frame is [6, 4, 30, 20]
    assert torch.allclose(pred.pred_boxes[1], torch.tensor([6.0, 4.0, 30.0, 20.0]), atol=1e-4)
    assert torch.allclose(pred.pred_boxes[2], torch.tensor([12.0, 8.0, 36.0, 24.0]),
                          atol=1e-4)
    assert pred.pred_box_scores.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert model.num_malformed_boxes == 0 and model.num_missing_boxes == 0


def test_text_box_missing_and_malformed_boxes_are_counted(text_box_cfg, monkeypatch, capsys):
    model = MODELS.build(text_box_cfg).eval()
    monkeypatch.setattr(model.llm, 'decode', lambda ids: (
        'The event happens from 1.0 to 3.0 seconds. frame 1: [0.1, 0.1, 0.5]'))
    pred = model(**model.data_preprocessor(make_batch([make_sample()]), False),
                 mode='predict')[0]
    assert pred.pred_parse_ok and pred.pred_box_mask.tolist() == [False, True, True, False]
    assert pred.pred_boxes.abs().sum() == 0 and pred.pred_box_scores.sum() == 0
    assert model.num_malformed_boxes == 1 and model.num_missing_boxes == 2
    assert pred.pred_num_malformed_boxes == 1 and pred.pred_num_missing_boxes == 2
    # The metric reports them (summed over samples) and says so in the log.
    second = model(**model.data_preprocessor(make_batch([make_sample(seed=1)]), False),
                   mode='predict')[0]
    MMLogger.get_instance('test_text_box_counts')
    metric = STVGMetric()
    metric.process({}, [pred.to_dict(), second.to_dict()])
    metrics = metric.compute_metrics(metric.results)
    log = capsys.readouterr()
    log = log.out + log.err
    assert metrics['num_malformed_boxes'] == 2 and metrics['num_missing_boxes'] == 4
    assert '2 malformed box entries in the generated text in 2 samples' in log
    assert '4 frames in the predicted span left without a box in 2 samples' in log
    plain = STVGMetric()
    plain.process({}, [make_sample().to_dict()])
    assert 'num_malformed_boxes' not in plain.compute_metrics(plain.results)
    with pytest.raises(ValueError, match='no space_decoder'):
        MODELS.build(dict(text_box_cfg, space_decoder=dict(type='MLPBoxHead')))


def test_text_boxes_are_a_config_of_the_same_grounder(text_box_cfg):
    """TextBoxGroundingLLM is VideoGroundingLLM with SpanAndBoxesAnswer and NoQueries."""
    torch.manual_seed(0)
    preset = MODELS.build(text_box_cfg)
    cfg = {k: v for k, v in text_box_cfg.items() if k != 'box_precision'}
    cfg.update(type='VideoGroundingLLM',
               answer=dict(type='SpanAndBoxesAnswer', box_precision=1))
    torch.manual_seed(0)
    plain = MODELS.build(cfg)
    assert type(preset.query_interleaver).__name__ == 'NoQueries'
    assert type(plain.answer) is type(preset.answer)
    data = plain.data_preprocessor(make_batch([make_sample()]), True)
    torch.testing.assert_close(plain(**data, mode='loss')['loss_lm'],
                               preset(**data, mode='loss')['loss_lm'])
    with pytest.raises(ValueError, match='box_precision'):
        MODELS.build(dict(text_box_cfg, answer=dict(type='SpanAnswer')))
