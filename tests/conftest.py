"""Shared pytest set-up: the repository root is importable (for `projects.*`), and
mmstvg's runtime patches are applied as the tools apply them."""
import os
import os.path as osp
import sys

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# Two cores are shared by the whole suite; tiny models gain nothing from more threads.
# MMSTVG_TEST_THREADS runs the suite's in-process work on another thread count (another
# float summation order): no assertion may depend on it.
torch.set_num_threads(int(os.environ.get('MMSTVG_TEST_THREADS', '1')))

# Tests run as the tools do: safe checkpoint loading, atomic writes and the
# message filters in effect (importing mmstvg applies none of them; see
# mmstvg/utils/runtime_patches.py and tests/test_utils/test_import_side_effects.py).
from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

apply_runtime_patches()


import pytest  # noqa: E402


@pytest.fixture(scope='session')
def qwen2_tokenizer_dir():
    """Qwen2-7B-Instruct's real tokenizer (built from the dashscope wheel's
    ``qwen.tiktoken`` once, cached under ``$MMSTVG_CACHE`` or ``~/.cache/mmstvg``)."""
    from mmstvg.testing.qwen2_tokenizer import cached_qwen2_tokenizer_dir
    return cached_qwen2_tokenizer_dir()
