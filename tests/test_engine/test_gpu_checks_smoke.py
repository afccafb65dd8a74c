"""tools/analysis_tools/gpu_checks.sh's CPU smoke mode (tiny widths, 4 frames at
LLaVA-Video's 384 px / 14 px patches) through benchmark_full_length.py."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FRAME_TOKENS = 14 * 15  # 27 x 27 patches -> 14 x 14 bilinear + a newline per row


def run_cpu_smoke(out_dir, step: str) -> dict:
    """``gpu_checks.sh --device cpu --tiny --only STEP``; its printed summary."""
    env = dict(os.environ, OUT=str(out_dir), PYTHON=sys.executable, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', 'tools/analysis_tools/gpu_checks.sh', '--device', 'cpu', '--tiny',
         '--only', step], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_gpu_checks_cpu_smoke(tmp_path, qwen2_tokenizer_dir):
    summary = run_cpu_smoke(tmp_path, 'small_sdpa')
    assert summary == json.load(open(tmp_path / 'gpu_checks.json'))
    assert summary['status'] == {'small_sdpa': {'rc': 0, 'seconds':
                                                summary['status']['small_sdpa']['seconds']}}
    result = summary['small_sdpa']
    assert (result['num_frames'], result['image_size'], result['vocab_size']) == (4, 384, 151646)
    spacevllm, boxes = result['infer_spacevllm'], result['infer_text_boxes']
    # The baseline writes a box per in-span frame besides the span: a longer answer.
    assert boxes['max_new_tokens'] > spacevllm['max_new_tokens'] > 3
    assert result['text_boxes_over_spacevllm'] == \
        boxes['seconds_per_sample'] / spacevllm['seconds_per_sample']
    train = result['train_spacevllm']
    # Each frame: 210 visual tokens, its query and time stamp; plus the prompt.
    assert 4 * FRAME_TOKENS + 4 < train["tokens_per_sample"] < 4 * (FRAME_TOKENS + 10) + 200
    assert train['tokens_per_s'] == train['tokens_per_sample'] / train['s_per_step']
    assert train['gradient_checkpointing'] is True and train['optimizer'] == 'adamw'
    assert train['peak_mem_mb'] > 100 and train['mfu'] is None


def test_gpu_checks_shared_video_step_cpu_smoke(tmp_path, qwen2_tokenizer_dir):
    """Issue 31's K = 4 step: alone vs shared on one written video, equal answers."""
    summary = run_cpu_smoke(tmp_path, 'small_shared_k4')
    assert summary['status']['small_shared_k4']['rc'] == 0
    sharing = summary['small_shared_k4']['sharing']
    assert sharing['sentences_per_video'] == 4 and sharing['same_predictions'] is True
    assert sharing['speedup'] == pytest.approx(
        sharing['sentences_per_s_shared'] / sharing['sentences_per_s_alone'], rel=1e-9)
    assert sharing['cpu_speedup'] > 0 and math.isfinite(sharing['cpu_speedup'])
    split = sharing['seconds_split_shared']
    assert {'decode', 'vision', 'llm_prompt', 'llm_generate', 'other'} <= set(split)
    assert (sharing['vidstg_sentences'], sharing['vidstg_segments']) == (10303, 2527)
