"""The model tests' fixtures and helpers (tests/test_models/) for SpaceVLLM's tests.

The tests of our additions (``test_addons/``) build the tiny grounder of the
model tests around them: its ``grounder_cfg`` and tokenizers, and
``models_testing_utils`` (``make_sample``, ``make_batch``) importable as there.
"""
import os.path as osp
import sys

MODEL_TESTS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                       'test_models')
if MODEL_TESTS not in sys.path:
    sys.path.insert(0, MODEL_TESTS)

from tests.test_models.conftest import (chat_tokenizer_dir, grounder_cfg,  # noqa: E402,F401
                                        toy_tokenizer_dir)
