"""Issue 32: loading base LLaVA checkpoints never builds the wrong model silently.

The checkpoints here are written independently of mmstvg's loader and of its
fixture writers (plain torch + safetensors + json, in LLaVA-NeXT's
``llava_qwen`` layout), as lmms-lab's ``LlavaQwenForCausalLM.save_pretrained``
names things:

- a ``llava_llama`` / ``llava_mistral`` file is refused as an unsupported
  layout (it was built as Qwen2 and failed on a missing ``q_proj.bias``);
- ``config.json``'s ``vocab_size`` must equal the file's embedding rows (rows
  were cut, or padded at random);
- the SigLIP tower's head count comes from a tower config the checkpoint names
  (``mm_vision_tower`` as a local directory, or ``mm_vision_tower_config``) or
  the config; so400m's 16 only for a so400m-shaped tower (other towers got 16
  heads silently);
- ``mm_projector_type`` is read, built, and checked against the tensors
  (``mlp3x_gelu`` over ``mlp2x`` tensors built).
"""
import json
import os.path as osp

import pytest
import torch
from safetensors.torch import save_file

from mmstvg.registry import MODELS
from mmstvg.utils import register_all_modules

register_all_modules()

TOWER_WIDTH, TOWER_FFN, TOWER_LAYERS, PATCH, IMAGE = 32, 64, 2, 8, 16
HIDDEN, FFN, HEADS, KV_HEADS = 16, 32, 2, 1


@pytest.fixture(scope='module')
def toy_tokenizer_dir(tmp_path_factory):
    from mmstvg.models.llm_backbones import build_toy_tokenizer
    path = str(tmp_path_factory.mktemp('toy_tokenizer'))
    build_toy_tokenizer().save_pretrained(path)
    return path


def _rand(gen, *shape):
    return torch.randn(*shape, generator=gen) * 0.1


def _text_tensors(gen, rows, llama=False, lm_rows=None):
    kv = HIDDEN // HEADS * KV_HEADS
    state = {'model.embed_tokens.weight': _rand(gen, rows, HIDDEN),
             'model.norm.weight': torch.ones(HIDDEN),
             'lm_head.weight': _rand(gen, lm_rows or rows, HIDDEN)}
    for i in range(1):
        p = f'model.layers.{i}.'
        for name, out in (('q_proj', HIDDEN), ('k_proj', kv), ('v_proj', kv)):
            state[p + f'self_attn.{name}.weight'] = _rand(gen, out, HIDDEN)
            if not llama:  # Qwen2 has q/k/v biases, Llama and Mistral none
                state[p + f'self_attn.{name}.bias'] = _rand(gen, out)
        state[p + 'self_attn.o_proj.weight'] = _rand(gen, HIDDEN, HIDDEN)
        state[p + 'mlp.gate_proj.weight'] = _rand(gen, FFN, HIDDEN)
        state[p + 'mlp.up_proj.weight'] = _rand(gen, FFN, HIDDEN)
        state[p + 'mlp.down_proj.weight'] = _rand(gen, HIDDEN, FFN)
        state[p + 'input_layernorm.weight'] = torch.ones(HIDDEN)
        state[p + 'post_attention_layernorm.weight'] = torch.ones(HIDDEN)
    return state


def _tower_tensors(gen, width=TOWER_WIDTH, ffn=TOWER_FFN, layers=TOWER_LAYERS,
                   patch=PATCH, image=IMAGE, dtype=torch.float32):
    """LLaVA-NeXT's SigLIP (last layer deleted, no head) under its file names."""
    p = 'model.vision_tower.vision_tower.vision_model.'
    state = {p + 'embeddings.patch_embedding.weight': _rand(gen, width, 3, patch, patch),
             p + 'embeddings.patch_embedding.bias': _rand(gen, width),
             p + 'embeddings.position_embedding.weight':
                 _rand(gen, (image // patch) ** 2, width),
             p + 'post_layernorm.weight': torch.ones(width),
             p + 'post_layernorm.bias': torch.zeros(width)}
    for i in range(layers):
        q = f'{p}encoder.layers.{i}.'
        for name in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
            state[q + f'self_attn.{name}.weight'] = _rand(gen, width, width)
            state[q + f'self_attn.{name}.bias'] = _rand(gen, width)
        for norm in ('layer_norm1', 'layer_norm2'):
            state[q + f'{norm}.weight'] = 1 + _rand(gen, width)
            state[q + f'{norm}.bias'] = _rand(gen, width)
        state[q + 'mlp.fc1.weight'] = _rand(gen, ffn, width)
        state[q + 'mlp.fc1.bias'] = _rand(gen, ffn)
        state[q + 'mlp.fc2.weight'] = _rand(gen, width, ffn)
        state[q + 'mlp.fc2.bias'] = _rand(gen, width)
    return {k: v.to(dtype) for k, v in state.items()}


def _projector_tensors(gen, kind, width=TOWER_WIDTH):
    """LLaVA-NeXT's ``build_vision_projector`` names: ``nn.Linear`` for
    ``linear``, ``nn.Sequential(Linear, GELU, Linear, ...)`` for ``mlpNx_gelu``."""
    p = 'model.mm_projector.'
    if kind == 'identity':
        return {}
    if kind == 'linear':
        return {p + 'weight': _rand(gen, HIDDEN, width), p + 'bias': _rand(gen, HIDDEN)}
    depth = int(kind[len('mlp'):-len('x_gelu')])
    state = {}
    for i in range(depth):
        state[p + f'{2 * i}.weight'] = _rand(gen, HIDDEN, width if i == 0 else HIDDEN)
        state[p + f'{2 * i}.bias'] = _rand(gen, HIDDEN)
    return state


def write_llava_next(path, *, rows=1668, vocab_size=None, llama=False, projector='mlp2x_gelu',
                     projector_tensors=None, tower=None, config=None, lm_rows=None,
                     tower_width=TOWER_WIDTH):
    """A checkpoint directory as lmms-lab's LLaVA-NeXT saves one (one shard)."""
    import os
    os.makedirs(path, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    state = _text_tensors(gen, rows, llama=llama, lm_rows=lm_rows)
    state.update(tower if tower is not None else _tower_tensors(gen, width=tower_width))
    state.update(_projector_tensors(gen, projector_tensors or projector, width=tower_width))
    state['model.image_newline'] = _rand(gen, HIDDEN)
    save_file({k: v.contiguous() for k, v in state.items()},
              osp.join(path, 'model.safetensors'), metadata=dict(format='pt'))
    cfg = dict(architectures=['LlavaQwenForCausalLM'], model_type='llava',
               vocab_size=vocab_size or rows, hidden_size=HIDDEN, intermediate_size=FFN,
               num_hidden_layers=1, num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
               hidden_act='silu', max_position_embeddings=512, rms_norm_eps=1e-6,
               rope_theta=1000000.0, tie_word_embeddings=False, use_sliding_window=False,
               bos_token_id=1, eos_token_id=2,
               mm_vision_tower='google/siglip-so400m-patch14-384',
               mm_hidden_size=tower_width, mm_projector_type=projector,
               mm_vision_select_layer=-2, mm_vision_select_feature='patch',
               mm_patch_merge_type='spatial_unpad', mm_newline_position='grid',
               mm_spatial_pool_mode='bilinear', mm_spatial_pool_stride=2,
               add_faster_video=False)
    if projector is None:
        del cfg['mm_projector_type']
    cfg.update(config or {})
    with open(osp.join(path, 'config.json'), 'w') as f:
        json.dump(cfg, f)
    return path


def _tower_dir(path, heads):
    """A local SigLIP directory ``mm_vision_tower`` can name (LLaVA-NeXT builds
    its tower with ``SiglipVisionModel.from_pretrained(mm_vision_tower)``)."""
    import os
    os.makedirs(path, exist_ok=True)
    with open(osp.join(path, 'config.json'), 'w') as f:
        json.dump(dict(model_type='siglip_vision_model', hidden_size=TOWER_WIDTH,
                       intermediate_size=TOWER_FFN, num_hidden_layers=TOWER_LAYERS + 1,
                       num_attention_heads=heads, image_size=IMAGE, patch_size=PATCH,
                       layer_norm_eps=1e-6, hidden_act='gelu_pytorch_tanh'), f)
    return path


def _grounder_cfg(path, tokenizer, heads=None, projector='MLPProjector', **llm):
    vision = dict(type='HFVisionEncoder', pretrained_model_name_or_path='unused',
                  select_layer=-2, pool_size=2, freeze=True)
    if heads is not None:
        vision['vision_config'] = dict(num_attention_heads=heads)
    return dict(type='VideoGroundingLLM', vision_encoder=vision,
                projector=dict(type=projector),
                llm=dict(type='HFCausalLM', pretrained_model_name_or_path='unused',
                         tokenizer=tokenizer, **llm),
                query_interleaver=dict(type='AppendedQueries'),
                space_decoder=dict(type='MLPBoxHead', num_layers=2),
                llava_onevision_path=path)


# ----------------------------------------------------------------------- layouts
@pytest.mark.parametrize('layout,arch', [('llava_llama', 'LlavaLlamaForCausalLM'),
                                         ('llava_mistral', 'LlavaMistralForCausalLM')])
@pytest.mark.parametrize('named_by', ['both', 'architectures', 'model_type'])
def test_llama_and_mistral_llava_files_are_unsupported_layouts(tmp_path, toy_tokenizer_dir,
                                                               layout, arch, named_by):
    config = dict(both=dict(model_type=layout, architectures=[arch]),
                  architectures=dict(model_type='llava', architectures=[arch]),
                  model_type=dict(model_type=layout, architectures=None))[named_by]
    path = write_llava_next(str(tmp_path / layout), llama=True, config=config)
    with pytest.raises(ValueError) as error:
        MODELS.build(_grounder_cfg(path, toy_tokenizer_dir))
    message = str(error.value)
    assert osp.join(path, 'config.json') in message
    assert f'unsupported checkpoint layout {layout!r}' in message
    assert 'llava_qwen' in message and 'llava_onevision' in message
    assert 'q_proj.bias' not in message


def test_a_config_naming_no_language_model_is_refused(tmp_path, toy_tokenizer_dir):
    # mm_* keys and a width, but neither architectures nor model_type say Qwen2
    path = write_llava_next(str(tmp_path / 'anonymous'),
                            config=dict(model_type='llava', architectures=None))
    with pytest.raises(ValueError, match=r'config.json: .*which language model'):
        MODELS.build(_grounder_cfg(path, toy_tokenizer_dir))


def test_llava_qwen_model_type_alone_is_read(tmp_path):
    from mmstvg.models.utils.llava_checkpoints import LlavaCheckpoint
    path = write_llava_next(str(tmp_path / 'qwen'),
                            config=dict(model_type='llava_qwen', architectures=None))
    assert LlavaCheckpoint(path).layout == 'llava_qwen'


# ----------------------------------------------------------------------- vocabulary
@pytest.mark.parametrize('vocab_size', [1800, 1600])  # padded at random / cut
def test_vocab_size_must_equal_the_files_rows(tmp_path, toy_tokenizer_dir, vocab_size):
    path = write_llava_next(str(tmp_path / 'vocab'), rows=1700, vocab_size=vocab_size)
    with pytest.raises(ValueError) as error:
        MODELS.build(_grounder_cfg(path, toy_tokenizer_dir, heads=4))
    message = str(error.value)
    assert osp.join(path, 'model.safetensors') in message
    assert f'vocab_size={vocab_size}' in message and '1700 rows' in message
    assert "'model.embed_tokens.weight'" in message


def test_lm_head_rows_must_equal_vocab_size(tmp_path, toy_tokenizer_dir):
    path = write_llava_next(str(tmp_path / 'head'), rows=1700, lm_rows=1750)
    with pytest.raises(ValueError, match=r"vocab_size=1700.*'lm_head.weight' has 1750 rows"):
        MODELS.build(_grounder_cfg(path, toy_tokenizer_dir, heads=4))


def test_added_tokens_extend_the_files_rows_explicitly(tmp_path, toy_tokenizer_dir):
    from safetensors import safe_open
    path = write_llava_next(str(tmp_path / 'added'), rows=1668)
    model = MODELS.build(_grounder_cfg(path, toy_tokenizer_dir, heads=4,
                                       special_tokens=['<obj_a>', '<obj_b>']))
    embed = model.llm.hf_model.get_input_embeddings().weight
    assert embed.shape[0] == 1670
    with safe_open(osp.join(path, 'model.safetensors'), 'pt') as f:
        assert torch.equal(embed[:1668], f.get_tensor('model.embed_tokens.weight'))
        head = model.llm.hf_model.get_output_embeddings().weight
        assert torch.equal(head[:1668], f.get_tensor('lm_head.weight'))


# ----------------------------------------------------------------------- tower heads
def _reference_tower_features(path, heads, frames):
    from safetensors.torch import load_file
    from transformers import SiglipVisionConfig, SiglipVisionModel
    tower = SiglipVisionModel(SiglipVisionConfig(
        hidden_size=TOWER_WIDTH, intermediate_size=TOWER_FFN, num_hidden_layers=TOWER_LAYERS,
        num_attention_heads=heads, image_size=IMAGE, patch_size=PATCH, layer_norm_eps=1e-6,
        hidden_act='gelu_pytorch_tanh', vision_use_head=False)).eval()
    prefix = 'model.vision_tower.vision_tower.'
    if not hasattr(tower, 'vision_model'):  # transformers 5 flattens it
        prefix += 'vision_model.'
    state = {k[len(prefix):]: v for k, v in load_file(osp.join(path, 'model.safetensors'))
             .items() if k.startswith(prefix)}
    tower.load_state_dict(state, strict=True)
    with torch.no_grad():
        return tower(frames, output_hidden_states=True).hidden_states[-1]


def _tower_heads(model):
    return model.vision_encoder.model.config.num_attention_heads


@pytest.mark.parametrize('source', ['mm_vision_tower_dir', 'mm_vision_tower_config',
                                    'grounder_config'])
def test_tower_heads_come_from_the_checkpoint_or_the_config(tmp_path, toy_tokenizer_dir,
                                                            source):
    heads = 4
    config, given = {}, None
    if source == 'mm_vision_tower_dir':
        config['mm_vision_tower'] = _tower_dir(str(tmp_path / 'siglip'), heads)
    elif source == 'mm_vision_tower_config':  # mmstvg's export writes it
        config['mm_vision_tower_config'] = json.load(
            open(osp.join(_tower_dir(str(tmp_path / 'siglip'), heads), 'config.json')))
    else:
        given = heads
    path = write_llava_next(str(tmp_path / 'ckpt'), config=config)
    model = MODELS.build(_grounder_cfg(path, toy_tokenizer_dir, heads=given)).eval()
    assert _tower_heads(model) == heads
    frames = torch.randn(2, 3, IMAGE, IMAGE)
    with torch.no_grad():
        ours = model.vision_encoder(frames)
    torch.testing.assert_close(ours, _reference_tower_features(path, heads, frames),
                               atol=1e-6, rtol=0)


def test_a_tower_of_unknown_heads_is_refused(tmp_path, toy_tokenizer_dir):
    # a 32-wide tower, mm_vision_tower naming so400m (1152 wide): 16 heads are a guess
    path = write_llava_next(str(tmp_path / 'ckpt'))
    with pytest.raises(ValueError) as error:
        MODELS.build(_grounder_cfg(path, toy_tokenizer_dir))
    message = str(error.value)
    assert path in message and 'num_attention_heads' in message
    assert 'vision_encoder.vision_config.num_attention_heads' in message
    assert '1152' in message and '32' in message


def test_given_heads_contradicting_the_checkpoints_are_refused(tmp_path, toy_tokenizer_dir):
    tower = _tower_dir(str(tmp_path / 'siglip'), 4)
    path = write_llava_next(str(tmp_path / 'ckpt'), config=dict(mm_vision_tower=tower))
    with pytest.raises(ValueError, match=r'num_attention_heads.*8.*4'):
        MODELS.build(_grounder_cfg(path, toy_tokenizer_dir, heads=8))


def test_tower_config_contradicting_the_tensors_is_refused(tmp_path, toy_tokenizer_dir):
    tower = _tower_dir(str(tmp_path / 'siglip'), 4)
    cfg = json.load(open(osp.join(tower, 'config.json')))
    cfg['patch_size'] = 4
    json.dump(cfg, open(osp.join(tower, 'config.json'), 'w'))
    path = write_llava_next(str(tmp_path / 'ckpt'), config=dict(mm_vision_tower=tower))
    with pytest.raises(ValueError, match=r'patch_size=4.*tensors.*8'):
        MODELS.build(_grounder_cfg(path, toy_tokenizer_dir))


def test_a_so400m_shaped_tower_gets_so400m_heads(tmp_path):
    from mmstvg.models.utils.llava_checkpoints import LlavaCheckpoint
    gen = torch.Generator().manual_seed(0)
    tower = _tower_tensors(gen, width=1152, ffn=4304, layers=1, patch=14, image=28,
                           dtype=torch.bfloat16)
    path = write_llava_next(str(tmp_path / 'so400m'), tower=tower, tower_width=1152)
    cfg = LlavaCheckpoint(path).vision_config()
    assert (cfg['num_attention_heads'], cfg['hidden_size'], cfg['patch_size'],
            cfg['image_size'], cfg['num_hidden_layers']) == (16, 1152, 14, 28, 1)


# ----------------------------------------------------------------------- projector
@pytest.mark.parametrize('declared,tensors', [('mlp3x_gelu', 'mlp2x_gelu'),
                                              ('mlp2x_gelu', 'mlp3x_gelu'),
                                              ('mlp2x_gelu', 'linear'),
                                              ('linear', 'mlp2x_gelu'),
                                              (None, 'mlp2x_gelu')])  # LLaVA's default
def test_projector_tensors_must_match_the_declared_type(tmp_path, toy_tokenizer_dir,
                                                       declared, tensors):
    tower = _tower_dir(str(tmp_path / 'siglip'), 4)
    path = write_llava_next(str(tmp_path / 'ckpt'), projector=declared,
                            projector_tensors=tensors, config=dict(mm_vision_tower=tower))
    with pytest.raises(KeyError) as error:
        MODELS.build(_grounder_cfg(path, toy_tokenizer_dir))
    message = str(error.value)
    assert path in message and f"mm_projector_type={declared or 'linear'!r}" in message
    assert f'an {tensors!r} projector' in message


def test_an_unsupported_projector_type_is_refused(tmp_path, toy_tokenizer_dir):
    tower = _tower_dir(str(tmp_path / 'siglip'), 4)
    path = write_llava_next(str(tmp_path / 'ckpt'), projector='mlp3x_gelu',
                            config=dict(mm_vision_tower=tower))
    with pytest.raises(NotImplementedError,
                       match=r"mm_projector_type='mlp3x_gelu'.*supported.*mlp2x_gelu"):
        MODELS.build(_grounder_cfg(path, toy_tokenizer_dir))


@pytest.mark.parametrize('kind,module', [('linear', 'LinearProjector'),
                                         ('identity', 'IdentityProjector'),
                                         ('mlp2x_gelu', 'MLPProjector')])
def test_the_declared_projector_is_built_and_loaded(tmp_path, toy_tokenizer_dir, kind, module):
    from safetensors.torch import load_file
    width = HIDDEN if kind == 'identity' else TOWER_WIDTH  # identity: tower width = LLM's
    tower = str(tmp_path / 'siglip')
    _tower_dir(tower, 4)
    cfg = json.load(open(osp.join(tower, 'config.json')))
    cfg.update(hidden_size=width)
    json.dump(cfg, open(osp.join(tower, 'config.json'), 'w'))
    path = write_llava_next(str(tmp_path / 'ckpt'), projector=kind, tower_width=width,
                            config=dict(mm_vision_tower=tower))
    model = MODELS.build(_grounder_cfg(path, toy_tokenizer_dir)).eval()
    assert type(model.projector).__name__ == module
    state = load_file(osp.join(path, 'model.safetensors'))
    tokens = torch.randn(2, 4, width)
    with torch.no_grad():
        ours = model.projector(tokens)
    p = 'model.mm_projector.'
    if kind == 'linear':
        expected = torch.nn.functional.linear(tokens, state[p + 'weight'], state[p + 'bias'])
    elif kind == 'identity':
        expected = tokens
    else:
        hidden = torch.nn.functional.linear(tokens, state[p + '0.weight'], state[p + '0.bias'])
        expected = torch.nn.functional.linear(torch.nn.functional.gelu(hidden),
                                              state[p + '2.weight'], state[p + '2.bias'])
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=0)
