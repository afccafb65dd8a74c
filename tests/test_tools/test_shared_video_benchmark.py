"""Issue 31: the VidSTG segment counts and the projected test pass of the sharing benchmark."""
import importlib.util
import json
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def bench():
    path = osp.join(REPO, 'tools', 'analysis_tools', 'shared_video_benchmark.py')
    spec = importlib.util.spec_from_file_location('shared_video_benchmark', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_counts_of_the_raw_public_file(bench, tmp_path):
    """The raw ``test_annotations.json``: a list of entries with ``vid``,
    ``used_segment`` {begin_fid, end_fid}, ``captions`` and ``questions`` (the
    fields TubeDETR's preproc_vidstg.py reads)."""
    raw = [dict(vid='v1', used_segment=dict(begin_fid=0, end_fid=100),
                captions=[dict(description='a man runs')] * 2,
                questions=[dict(description='who runs?')]),
           dict(vid='v1', used_segment=dict(begin_fid=0, end_fid=100),
                captions=[dict(description='a dog sits')], questions=[]),
           dict(vid='v1', used_segment=dict(begin_fid=50, end_fid=150),
                captions=[], questions=[dict(description='what is held?')])]
    path = tmp_path / 'test_annotations.json'
    path.write_text(json.dumps(raw))
    assert bench.vidstg_segment_counts(str(path)) == (5, 2, str(path))


def test_counts_of_tubedetrs_converted_file(bench, tmp_path):
    videos = [dict(original_video_id='v1', start_frame=0, end_frame=100),
              dict(original_video_id='v1', start_frame=0, end_frame=100),
              dict(original_video_id='v2', start_frame=0, end_frame=100)]
    path = tmp_path / 'test.json'
    path.write_text(json.dumps(dict(videos=videos, trajectories={})))
    assert bench.vidstg_segment_counts(str(path))[:2] == (3, 2)
    path.write_text(json.dumps(dict(something='else')))
    with pytest.raises(ValueError, match='neither the raw VidSTG file'):
        bench.vidstg_segment_counts(str(path))


def test_projection_is_the_linear_segment_cost(bench):
    assert bench.vidstg_segment_counts(None)[:2] == (10303, 2527)
    # a segment costs 3 s plus 1 s a sentence shared; 4 s a sentence alone
    result = bench.projected_test_pass(3.0, 1.0, 4.0, None)
    assert result['vidstg_hours_alone'] == pytest.approx(10303 * 4.0 / 3600)
    assert result['vidstg_hours_shared'] == pytest.approx((2527 * 3.0 + 10303) / 3600)
    assert result['vidstg_speedup'] == pytest.approx(10303 * 4.0 / (2527 * 3.0 + 10303))


def test_sharing_run_takes_the_pipelines_pieces(bench, tmp_path):
    """Issue 30: the benchmark's pipeline tokenizes each sentence with the
    model's TokenizeGroundingPrompt; alone and shared predict the same (the
    tiny grounder of tests/test_apis, 2 sentences, one round)."""
    import argparse

    import torch

    from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
    from mmstvg.registry import MODELS
    from mmstvg.testing.prompt_pieces import record_prompt_pieces
    from tests.test_apis.conftest import tiny_config
    build_toy_tokenizer().save_pretrained(str(tmp_path))
    model_cfg = tiny_config(str(tmp_path)).model.to_dict()
    built = []
    build = MODELS.build

    def recording_build(cfg, *args, **kwargs):
        model = build(cfg, *args, **kwargs)
        if hasattr(model, 'sequence_builder'):  # the grounder, not its parts
            built.append(record_prompt_pieces(model))
        return model

    args = argparse.Namespace(num_frames=4, image_size=32, sharing_new_tokens=3,
                              vidstg_ann=None)
    MODELS.build = recording_build
    try:
        result = bench.benchmark_sharing(model_cfg, args, torch.device('cpu'),
                                         sentences_per_video=2, repeats=1)
    finally:
        MODELS.build = build
    assert result['same_predictions']
    (seen, ) = built
    assert len(seen) == 1 + 2 + 2 + 1 and all(seen)
