"""The real Qwen2 tokenizer rebuilt from ``qwen.tiktoken``, and the prompt,
generation and parsing behaviours a BPE tokenizer exposes.
"""
import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from mmstvg.models.language import PromptBuilder, SpanAnswer
from mmstvg.models.language.span_text import format_span, parse_span
from mmstvg.structures import GroundingDataSample
from mmstvg.testing.qwen2_tokenizer import (QWEN2_PATTERN, QWEN2_SPECIAL_TOKENS,
                                            build_qwen2_tokenizer, find_qwen_tiktoken,
                                            load_tiktoken_ranks, special_token_ids)

# Ids of Qwen2's published tokenizer (e.g. Qwen2-7B-Instruct's default system turn).
KNOWN = {
    'Hello world': [9707, 1879],
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n':
        [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198],
    '<|im_start|>user\n': [151644, 872, 198],
    '<|im_start|>assistant\n': [151644, 77091, 198],
}


@pytest.fixture(scope='module')
def tokenizer(qwen2_tokenizer_dir):
    return AutoTokenizer.from_pretrained(qwen2_tokenizer_dir)


def test_known_encodings_and_special_tokens(tokenizer):
    # transformers 5 names the tokenizers-backed class Qwen2Tokenizer.
    assert tokenizer.is_fast and type(tokenizer).__name__.startswith('Qwen2Tokenizer')
    for text, ids in KNOWN.items():
        assert tokenizer(text, add_special_tokens=False).input_ids == ids, text
    for token, index in QWEN2_SPECIAL_TOKENS.items():
        assert tokenizer.convert_tokens_to_ids(token) == index
    assert len(tokenizer) == 151646
    assert tokenizer.eos_token == '<|im_end|>' and tokenizer.eos_token_id == 151645
    assert tokenizer.pad_token == '<|endoftext|>' and tokenizer.bos_token is None
    # Digits are single tokens; a time of three digits is five tokens.
    assert tokenizer.tokenize('12.5') == ['1', '2', '.', '5']


def test_chat_template_is_qwen2_instructs(tokenizer):
    ids = tokenizer.apply_chat_template([dict(role='user', content='Hello world')],
                                        add_generation_prompt=True, tokenize=True)
    if not isinstance(ids, list):
        ids = ids['input_ids']
    assert ids == (KNOWN['<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n']
                   + [151644, 872, 198, 9707, 1879, 151645, 198, 151644, 77091, 198])


def test_encodes_exactly_as_tiktoken_and_decodes_back(tokenizer):
    tiktoken = pytest.importorskip('tiktoken')
    encoding = tiktoken.Encoding('qwen2', pat_str=QWEN2_PATTERN, special_tokens={},
                                 mergeable_ranks=load_tiktoken_ranks(find_qwen_tiktoken()))
    rng = np.random.default_rng(0)
    pieces = ['The man in the white shirt walks to the door.', " it's", ' 3.14159s',
              '  \n\n\t', 'Привет мир', '你好，世界', 'こんにちは', '😀🎉', 'ÅÉÎ',
              'def f(x):\n    return x**2\n', '(12.0s, 18.5s)', "I'LL", ' '.join(['x'] * 3)]
    texts = [''.join(rng.choice(pieces, size=8)) for _ in range(50)]
    texts.append(bytes(rng.integers(32, 127, 2000, dtype=np.uint8)).decode())
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False).input_ids
        assert ids == encoding.encode_ordinary(text), text
        assert tokenizer.decode(ids) == text


def test_cut_vocabulary_is_the_first_ranks_of_qwen2(tmp_path):
    # The tiny base keeps Qwen2's first N ranks: a smaller byte-level BPE that
    # encodes as tiktoken does with those ranks, any text still round-trips,
    # and the ChatML tokens follow at N, N + 1, N + 2.
    tiktoken = pytest.importorskip('tiktoken')
    num_ranks = 4096
    ranks = {t: r for t, r in load_tiktoken_ranks(find_qwen_tiktoken()).items()
             if r < num_ranks}
    encoding = tiktoken.Encoding('qwen2_cut', pat_str=QWEN2_PATTERN, special_tokens={},
                                 mergeable_ranks=ranks)
    build_qwen2_tokenizer(num_ranks=num_ranks).save_pretrained(str(tmp_path))
    cut = AutoTokenizer.from_pretrained(str(tmp_path))
    assert len(cut) == num_ranks + 3
    for token, index in special_token_ids(num_ranks).items():
        assert cut.convert_tokens_to_ids(token) == index
    assert cut.eos_token_id == special_token_ids(num_ranks)['<|im_end|>'] == num_ranks + 2
    for text in ['The red circle moves left from 1.2s to 3.5s.', '你好，世界 😀', 'Hello world']:
        ids = cut(text, add_special_tokens=False).input_ids
        assert ids == encoding.encode_ordinary(text) and max(ids) < num_ranks, text
        assert cut.decode(ids) == text
    # Qwen2's own ids within the cut are kept (' world' is 1879); 'Hello' (9707)
    # is past it and splits into smaller tokens.
    assert cut(' world', add_special_tokens=False).input_ids == [1879]
    assert len(cut('Hello', add_special_tokens=False).input_ids) > 1
    with pytest.raises(ValueError, match='num_ranks'):
        build_qwen2_tokenizer(num_ranks=255)


def test_reloads_identically(tokenizer, tmp_path):
    tokenizer.save_pretrained(str(tmp_path))
    again = AutoTokenizer.from_pretrained(str(tmp_path))
    text = '<|im_start|>user\nWhen does the man sit down?<|im_end|>'
    assert again(text).input_ids == tokenizer(text).input_ids
    assert again.chat_template == tokenizer.chat_template


# --------------------------------------------------------------------------------
# The prompt builder and decoder with the real tokenizer (issue 13 item 3 / 4).
def _stvg_sample(span_seconds=(0.5, 1.5)):
    sample = GroundingDataSample(metainfo=dict(task='stvg', video_id='v'))
    sample.gt_span_seconds = torch.tensor(span_seconds)
    return sample


def _pieces(tokenizer, sentence='The man in the white shirt walks to the door.'):
    builder = PromptBuilder(tokenizer)
    times = [0.0, 0.5, 1.0, 1.5]
    answer = SpanAnswer(tokenizer).encode(_stvg_sample((0.5, 1.5)), times, 2.0)
    return builder, builder.build('stvg', sentence, 2.0, times, answer=answer)


def test_multi_token_times_parse_back(tokenizer):
    """Qwen2 writes a digit a token; the decoded answer still parses."""
    for start, end in [(0.0, 1.2), (12.5, 18.5), (103.4, 120.0)]:
        ids = tokenizer(format_span(start, end, 1), add_special_tokens=False).input_ids
        assert len(ids) > 8
        assert parse_span(tokenizer.decode(ids)) == (start, end)


def test_answer_ends_with_the_eos_id(tokenizer):
    _, pieces = _pieces(tokenizer)
    assert pieces.answer_ids[-1] == 151645
    assert tokenizer.decode(pieces.answer_ids[:-1]) == format_span(0.5, 1.5, 1)


def test_prompt_pieces_tokenise_as_the_whole_text(tokenizer):
    """Around the sentence, the pieces' ids are those of the joined text."""
    _, pieces = _pieces(tokenizer)
    joined = pieces.between_ids + pieces.sentence_ids + pieces.tail_ids
    text = tokenizer.decode(joined)
    assert joined == tokenizer(text, add_special_tokens=False).input_ids
    # The sentence's space is merged into its first word (a lone 'Ġ' is right
    # only before a digit, which Qwen2 splits off: ' 2.00' -> 'Ġ', '2', ...).
    assert tokenizer.convert_ids_to_tokens(pieces.between_ids[-2:] +
                                           pieces.sentence_ids[:1]) == ['Ġhappens', ':', 'ĠThe']
    assert tokenizer.decode(pieces.sentence_ids) == ' ' + 'The man in the white shirt ' \
        'walks to the door.'


def test_default_prompt_is_llava_videos_qwen_1_5(tokenizer):
    builder, pieces = _pieces(tokenizer)
    head = tokenizer.decode(pieces.head_ids)
    assert head.startswith('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n'
                           '<|im_start|>user\n')
    text = tokenizer.decode(pieces.head_ids + pieces.between_ids)
    assert 'The video lasts for 2.00 seconds, and 4 frames are uniformly sampled from it.' \
        in text
    assert 'These frames are located at 0.00s,0.50s,1.00s,1.50s.' in text


@pytest.mark.parametrize('stop_id', [151643, 151645])
def test_both_eos_ids_stop_generation(grounder_cfg, qwen2_tokenizer_dir, stop_id):
    """The LLM writes "1", then the stop id: predict's answer is "1" for both
    of Qwen2-Instruct's end tokens (not "11111" up to max_new_tokens)."""
    from mmstvg.registry import MODELS
    from models_testing_utils import make_batch, make_sample, tiny_llm_config
    cfg = dict(grounder_cfg)
    cfg.pop('prompt')  # the default template, LLaVA-Video's qwen_1_5
    cfg['llm'] = dict(type='HFCausalLM', llm_config=tiny_llm_config(151646),
                      tokenizer=qwen2_tokenizer_dir)
    cfg['max_new_tokens'] = 5
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    one = model.llm.tokenizer.convert_tokens_to_ids('1')
    calls = []

    def logits(hidden):
        out = torch.zeros(*hidden.shape[:-1], 151646)
        out[..., stop_id if calls else one] = 1.0
        calls.append(1)
        return out

    model.llm.logits = logits
    data = model.data_preprocessor(make_batch([make_sample()]), False)
    pred = model(**data, mode='predict')[0]
    assert pred.pred_text == '1' and len(calls) == 2
