"""Fixtures shared by the model tests (tiny tokenizers and a tiny grounder config)."""
import pytest

from mmstvg.models.llm_backbones.toy_tokenizer import build_toy_tokenizer
from models_testing_utils import TINY_VISION, tiny_llm_config


@pytest.fixture(scope='session')
def toy_tokenizer_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp('toy_tokenizer')
    build_toy_tokenizer().save_pretrained(str(path))
    return str(path)


@pytest.fixture(scope='session')
def chat_tokenizer_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp('toy_chat_tokenizer')
    build_toy_tokenizer(chat_template=True).save_pretrained(str(path))
    return str(path)


@pytest.fixture
def grounder_cfg(toy_tokenizer_dir):
    """A config dict of a tiny grounder (appended queries + MLP box head), with
    the toy's prompt template (``mmstvg``: the toy tokenizer has its words)."""
    vocab = len(build_toy_tokenizer())
    return dict(
        type='VideoGroundingLLM',
        vision_encoder=dict(type='HFVisionEncoder', vision_config=dict(TINY_VISION),
                            select_layer=-1, pool_size=2, chunk_size=3, freeze=True),
        projector=dict(type='MLPProjector'),
        llm=dict(type='HFCausalLM', llm_config=tiny_llm_config(vocab),
                 tokenizer=toy_tokenizer_dir),
        query_interleaver=dict(type='AppendedQueries'),
        space_decoder=dict(type='MLPBoxHead', num_layers=2),
        prompt=dict(template='mmstvg'),
        max_new_tokens=12)
