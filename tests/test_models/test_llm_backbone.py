import importlib.util
import warnings

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from mmstvg.models.llm_backbones import HFCausalLM, build_toy_tokenizer
from mmstvg.registry import LLM_BACKBONES
from models_testing_utils import tiny_llm_config

VOCAB = len(build_toy_tokenizer())


def test_toy_tokenizer_times_are_single_tokens(toy_tokenizer_dir):
    tok = AutoTokenizer.from_pretrained(toy_tokenizer_dir)
    assert len(tok) == len(build_toy_tokenizer())
    for text in ['0.0', '3.2', '17.5', '60.0']:
        ids = tok(text, add_special_tokens=False)['input_ids']
        assert len(ids) == 1 and ids[0] != tok.unk_token_id
    ids = tok('The event happens from 3.2 to 7.9 seconds.',
              add_special_tokens=False)['input_ids']
    assert tok.convert_ids_to_tokens(ids) == [
        'The', 'event', 'happens', 'from', '3.2', 'to', '7.9', 'seconds', '.']
    words = 'the small red circle moves left then the blue square appears'
    assert tok.unk_token_id not in tok(words, add_special_tokens=False)['input_ids']
    assert (tok.eos_token, tok.pad_token) == ('</s>', '<pad>')


def test_from_config_and_pretrained_give_identical_outputs(tmp_path, toy_tokenizer_dir):
    torch.manual_seed(0)
    vocab = len(build_toy_tokenizer())
    cfg = tiny_llm_config(vocab)
    ref = AutoModelForCausalLM.from_config(AutoConfig.for_model(**cfg))
    ref.save_pretrained(str(tmp_path))
    llm = LLM_BACKBONES.build(dict(type='HFCausalLM', tokenizer=toy_tokenizer_dir,
                                   pretrained_model_name_or_path=str(tmp_path)))
    ids = torch.tensor([[5, 9, 100, 42, 7]])
    hidden, cache = llm(llm.embed_tokens(ids), attention_mask=torch.ones_like(ids))
    assert cache is None and hidden.shape == (1, 5, 64)
    assert torch.allclose(llm.logits(hidden), ref(input_ids=ids).logits, atol=1e-5)
    assert llm.hidden_size == 64 and llm.eos_token_id == 3 and llm.pad_token_id == 0


def test_special_tokens_resize_embeddings(toy_tokenizer_dir):
    vocab = len(build_toy_tokenizer())
    llm = HFCausalLM(llm_config=tiny_llm_config(vocab), tokenizer=toy_tokenizer_dir,
                     special_tokens=['<box>', '</box>'])
    assert len(llm.tokenizer) == vocab + 2
    assert llm.hf_model.get_input_embeddings().num_embeddings == vocab + 2
    assert llm.hf_model.get_output_embeddings().weight.shape[0] == vocab + 2
    assert llm.tokenizer.convert_tokens_to_ids('</box>') == vocab + 1


def test_left_padding_and_cache_match_unpadded(toy_tokenizer_dir):
    torch.manual_seed(0)
    llm = HFCausalLM(llm_config=tiny_llm_config(VOCAB), tokenizer=toy_tokenizer_dir)
    ids = torch.tensor([[11, 12, 13, 14]])
    full, _ = llm(llm.embed_tokens(ids), attention_mask=torch.ones_like(ids))
    # two pads on the left, then the same tokens; then the last token from a cache
    padded = torch.cat([torch.zeros(1, 2, 64), llm.embed_tokens(ids[:, :3])], dim=1)
    mask = torch.tensor([[0, 0, 1, 1, 1]])
    hidden, cache = llm(padded, attention_mask=mask, use_cache=True)
    assert torch.allclose(hidden[:, 2:], full[:, :3], atol=1e-5)
    with warnings.catch_warnings():
        # the cache goes in under transformers 5's own name: no deprecation
        warnings.filterwarnings('error', message='.*past_key_values.*')
        step, _ = llm(llm.embed_tokens(ids[:, 3:]),
                      attention_mask=torch.tensor([[0, 0, 1, 1, 1, 1]]),
                      position_ids=torch.tensor([[3]]), past_key_values=cache, use_cache=True)
    assert torch.allclose(step[:, 0], full[:, 3], atol=1e-5)


def test_gradient_checkpointing_same_loss_and_grads(toy_tokenizer_dir):
    results = []
    for ckpt in (False, True):
        torch.manual_seed(0)
        llm = HFCausalLM(llm_config=tiny_llm_config(VOCAB), tokenizer=toy_tokenizer_dir,
                         gradient_checkpointing=ckpt)
        llm.train()
        assert llm.hf_model.is_activation_checkpointing == ckpt
        ids = torch.tensor([[4, 5, 6, 7, 8]])
        hidden, _ = llm(llm.embed_tokens(ids), attention_mask=torch.ones_like(ids))
        loss = llm.logits(hidden).logsumexp(-1).mean()
        loss.backward()
        grad = llm.decoder.layers[0].self_attn.q_proj.weight.grad.clone()
        results.append((loss.item(), grad))
    assert results[0][0] == pytest.approx(results[1][0], abs=1e-6)
    assert torch.allclose(results[0][1], results[1][1], atol=1e-6)


def test_freeze_dtype_and_clear_errors(toy_tokenizer_dir, monkeypatch):
    llm = HFCausalLM(llm_config=tiny_llm_config(VOCAB), tokenizer=toy_tokenizer_dir,
                     freeze=True, dtype='bf16')
    assert llm.dtype == torch.bfloat16
    assert not any(p.requires_grad for p in llm.parameters())
    with pytest.raises(ImportError, match='pip install flash-attn'):
        HFCausalLM(llm_config=tiny_llm_config(VOCAB), tokenizer=toy_tokenizer_dir,
                   attn_implementation='flash_attention_2')
    # peft is a test requirement: hide it to check the message a user without it gets.
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'peft' else real_find_spec(name, *a))
    with pytest.raises(ImportError, match='pip install peft'):
        HFCausalLM(llm_config=tiny_llm_config(VOCAB), tokenizer=toy_tokenizer_dir,
                   lora=dict(r=4, target_modules=['q_proj']))
    monkeypatch.undo()
    with pytest.raises(ValueError, match='tokenizer'):
        HFCausalLM(llm_config=tiny_llm_config(VOCAB))
    with pytest.raises(ValueError, match='unknown dtype'):
        HFCausalLM(llm_config=tiny_llm_config(VOCAB), tokenizer=toy_tokenizer_dir,
                   dtype='int3')
