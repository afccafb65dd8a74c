"""demo/video_demo.py writes the grounded video + JSON; benchmark_infer times predict."""
import glob
import importlib.util
import json
import os.path as osp
import statistics

import cv2
import decord
import numpy as np
import pytest
import torch

from mmstvg.apis import span_caption
from mmstvg.visualization import GroundingVisualizer

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_script(relative_path: str):
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(relative_path))[0], osp.join(REPO_ROOT, relative_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def config_file(tmp_path_factory, tiny_cfg):
    path = str(tmp_path_factory.mktemp('cfg') / 'tiny_grounder.py')
    tiny_cfg.dump(path)
    return path


def redness(frames: np.ndarray) -> np.ndarray:
    frames = frames.astype(np.float64)
    return frames[..., 0] - (frames[..., 1] + frames[..., 2]) / 2


#: The box the drawing is checked on (32 px frames): large enough that its 2 px
#: outline survives mp4 compression on every edge, whatever the model predicts.
CONSTRUCTED_BOX = (5.0, 6.0, 27.0, 26.0)


def with_constructed_prediction(call):
    """Wrap ``GroundingInferencer.__call__``: the model runs and its answer is kept
    (text, parse), then span and boxes are replaced by a known prediction, so the
    drawing is tested on figures no CPU's float kernels can move."""

    def wrapped(self, *args, **kwargs):
        outputs = call(self, *args, **kwargs)
        for sample in outputs['predictions']:
            inds = [int(i) for i in sample.metainfo['frame_inds']]
            fps = float(sample.metainfo['fps'])
            start, end = inds[1], inds[2] + 1  # the 2nd and 3rd of 4 sampled frames
            num = len(inds)
            sample.pred_span_frames = torch.tensor([start, end])
            sample.pred_span_seconds = torch.tensor([start / fps, end / fps])
            sample.pred_boxes = torch.tensor([CONSTRUCTED_BOX]).repeat(num, 1)
            sample.pred_box_scores = torch.linspace(0.2, 0.8, num)
        return outputs

    return wrapped


def test_demo_writes_the_video_with_the_tube_and_the_json(tmp_path, synthetic_root,
                                                          config_file, trained_checkpoint,
                                                          monkeypatch):
    from mmstvg.apis import GroundingInferencer
    monkeypatch.setattr(GroundingInferencer, '__call__',
                        with_constructed_prediction(GroundingInferencer.__call__))
    video = sorted(glob.glob(osp.join(synthetic_root, 'videos', '*.mp4')))[0]
    out = str(tmp_path / 'out' / 'grounded.mp4')
    demo = load_script('demo/video_demo.py')
    result = demo.main([video, 'the red circle moves left', config_file,
                        trained_checkpoint, '--out', out, '--device', 'cpu',
                        '--grid', str(tmp_path / 'grid.png')])
    with open(str(tmp_path / 'out' / 'grounded.json')) as file:
        assert json.load(file) == result
    # the trained model's own answer parses (the format is memorised in 60 steps)
    assert result['output'] == out and result['parse_ok']
    # 4 sampled 32 px frames: a 2 x 2 grid with a 2 px gap
    assert cv2.imread(str(tmp_path / 'grid.png')).shape[1] == 2 * 32 + 2
    source = decord.VideoReader(video)
    written = decord.VideoReader(out)
    num = len(source)
    assert len(written) == num == result['num_frames']  # every original frame
    original = source.get_batch(list(range(num))).asnumpy().astype(np.float64)
    drawn = written.get_batch(list(range(num))).asnumpy()
    caption_h = GroundingVisualizer(name='demo_test_caption').render_caption(
        span_caption(result['sentence'], result['span_seconds']), 32).shape[0]
    frames = drawn[:, caption_h:caption_h + 32]
    # the JSON holds the constructed prediction: two sampled frames in the span
    start, end = result['span_frames']
    boxed = [f for f in result['frames'] if f['in_span']]
    assert len(boxed) == 2 and all(f['box_xyxy'] == list(CONSTRUCTED_BOX) for f in boxed)
    # where a sampled frame lies in the span, the red 2 px outline of the box is on
    # its top edge; sampled frames outside it are unchanged there
    x1, y1, x2, y2 = (int(v) for v in CONSTRUCTED_BOX)
    top_row = (slice(y1, y1 + 2), slice(x1 + 2, x2 - 2))
    for frame in result['frames']:
        k = frame['frame_index']
        gain = redness(frames[k][top_row]).mean() - redness(original[k][top_row]).mean()
        if frame['in_span']:
            assert gain > 60, (k, gain)
        else:
            assert abs(gain) < 25, (k, gain)
    # frames outside the span: no outline anywhere in the frame
    outside = [k for k in range(num) if not start <= k < end]
    assert outside
    for k in outside:
        assert np.abs(redness(frames[k]) - redness(original[k])).mean() < 12


def test_benchmark_reports_median_and_mean_seconds(config_file, capsys):
    bench = load_script('tools/analysis_tools/benchmark_infer.py')
    assert bench.frame_size_of(bench.Config.fromfile(config_file)) == (32, 32)
    result = bench.main([config_file, '--num-frames', '6', '--num-samples', '3',
                         '--warmup', '1', '--device', 'cpu', '--max-new-tokens', '4'])
    lines = capsys.readouterr().out.strip().splitlines()
    assert json.loads(lines[-1]) == json.loads(json.dumps(result))
    # the split is printed in ms, so a fast space decoder does not read as 0
    split_line = next(line for line in lines if line.startswith('split (mean ms/sample)'))
    boxes_ms = float(split_line.split('boxes ')[1].split(',')[0])
    assert boxes_ms == pytest.approx(1000 * result['split_seconds_per_sample']['boxes'],
                                     abs=1e-3) and boxes_ms > 0
    assert result['untimed_parts'] == []
    calls = result['per_call_seconds']
    assert len(calls) == 3 and result['num_frames'] == 6
    assert result['seconds_per_sample'] == statistics.median(calls)
    assert result['mean_seconds_per_sample'] == pytest.approx(sum(calls) / 3)
    split = result['split_seconds_per_sample']
    assert set(split) == {'vision', 'llm', 'boxes', 'other'}
    assert min(split['vision'], split['llm'], split['boxes']) > 0
    assert sum(split.values()) == pytest.approx(statistics.fmean(calls))
    assert 0 <= result['generated_tokens_per_sample'] <= 4


def test_benchmark_part_timer_times_only_the_parts_a_model_has():
    bench = load_script('tools/analysis_tools/benchmark_infer.py')
    model = torch.nn.Module()
    model.llm = torch.nn.Linear(2, 2)  # no vision encoder, no space decoder
    timer = bench.PartTimer(model, dict(vision=['vision_encoder'], llm=['llm'],
                                        boxes=['space_decoder']), torch.device('cpu'))
    assert timer.groups == ['llm']
    model.llm(torch.zeros(1, 2))
    totals = timer.reset()
    assert set(totals) == {'llm'} and totals['llm'] > 0
    timer.remove()
    model.llm(torch.zeros(1, 2))
    assert timer.reset() == {}


def test_demo_draws_one_tube_per_sentence(tmp_path, synthetic_root, config_file,
                                          trained_checkpoint):
    """``--also``: several sentences in one pass, one colour each, a list of results
    equal to the inferencer's."""
    from mmstvg.apis import GroundingInferencer
    video = sorted(glob.glob(osp.join(synthetic_root, 'videos', '*.mp4')))[0]
    out = str(tmp_path / 'tubes.mp4')
    demo = load_script('demo/video_demo.py')
    sentences = ['the red circle moves left', 'the blue square moves up']
    results = demo.main([video, sentences[0], config_file, trained_checkpoint, '--out', out,
                         '--device', 'cpu', '--also', sentences[1]])
    with open(str(tmp_path / 'tubes.json')) as file:
        assert json.load(file) == results
    assert [r['sentence'] for r in results] == sentences
    expected = GroundingInferencer(config_file, trained_checkpoint,
                                   device='cpu')(video, sentences)['predictions']
    for result, reference in zip(results, expected):
        assert result['span_frames'] == reference['span_frames']
        assert result['answer_text'] == reference['answer_text']
    assert len(decord.VideoReader(out)) == results[0]['num_frames']
