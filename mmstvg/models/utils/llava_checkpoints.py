"""Starting a grounder from a LLaVA-OneVision / LLaVA-Video checkpoint.

Two on-disk layouts exist (see ``docs/en/full_size_models.md``):

``llava_onevision`` (llava-hf, transformers' ``LlavaOnevisionForConditionalGeneration``;
``config.json`` has ``model_type='llava_onevision'``, ``vision_config``,
``text_config``, ``vision_feature_layer``; the hub files use the older key
names ``vision_tower.* / multi_modal_projector.* / language_model.model.* /
language_model.lm_head.* / image_newline``, ``save_pretrained`` of
transformers 5 writes ``model.vision_tower.* / model.multi_modal_projector.* /
model.language_model.* / lm_head.* / model.image_newline``; both are read)::

    model.vision_tower.*                   -> vision_encoder.model.*
    model.multi_modal_projector.linear_{1,2} -> projector.linear_{1,2}
    model.language_model.*                 -> llm decoder (Qwen2Model)
    lm_head.weight                         -> llm output embeddings
    model.image_newline                    -> feature_pooler.image_newline

``llava_qwen`` (lmms-lab's LLaVA-NeXT ``LlavaQwenForCausalLM``, the only layout
LLaVA-Video-7B-Qwen2 ships in; ``config.json`` is a flat Qwen2 config plus
``mm_*`` keys, ``architectures=['LlavaQwenForCausalLM']`` or
``model_type='llava_qwen'``; there is no transformers class for it)::

    model.vision_tower.vision_tower.*      -> vision_encoder.model.*
    model.mm_projector.{0,2}               -> projector.linear_{1,2} ('mlp2x_gelu')
    model.mm_projector.{weight,bias}       -> projector.linear ('linear')
    model.image_newline                    -> feature_pooler.image_newline
    model.* (embed_tokens, layers, norm)   -> llm decoder
    lm_head.weight                         -> llm output embeddings

The layout is read from ``architectures`` / ``model_type``; LLaVA-NeXT's other
language models (``llava_llama``, ``llava_mistral``, ...) are refused by name.
``mm_projector_type`` (LLaVA's ``build_vision_projector``: ``mlp2x_gelu``,
``linear``, ``identity``; absent means ``linear``) picks the projector and must
match the ``mm_projector.*`` tensors. ``vocab_size`` must equal the embedding
rows: rows are never cut nor padded at random (tokens the grounder adds are
appended by ``resize_token_embeddings``, and logged).

LLaVA-NeXT's SigLIP tower (``siglip_encoder.py``) is so400m with its last
encoder layer deleted and the pooling head replaced by ``Identity``; it reads
the last remaining layer (``hidden_states[-1]`` of 26 layers, what
``mm_vision_select_layer=-2`` means on the 27-layer so400m). Pooling follows
``llava_arch.py``: projector first, then ``mm_spatial_pool_mode`` /
``mm_spatial_pool_stride``; ``mm_newline_position`` says where
``image_newline`` goes for video (LLaVA-NeXT's default ``'one_token'``: once
after the whole video). The tower's shape is read from its tensors, its head
count from a tower config the checkpoint has (see
:meth:`LlavaCheckpoint.vision_config`), else so400m's only for a
so400m-shaped tower.

:func:`fill_part_configs` turns the grounder's part configs into ones built
from the checkpoint's own configs (no pretrained directory is read twice),
:func:`load_llava_weights` then streams every tensor of the safetensors shards
into the built parts, once (host memory: the model plus one tensor). LoRA is
applied by the caller after loading. An unknown layout, a pickle-only
checkpoint, a missing or an unexpected key, or a shape mismatch is an error
naming the file and the key.
"""
import copy
import json
import os.path as osp
import re
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

__all__ = ['LlavaCheckpoint', 'fill_part_configs', 'fill_projector_config',
           'load_llava_weights', 'LAYOUTS', 'PROJECTOR_TYPES']

LAYOUTS = ('llava_onevision', 'llava_qwen')

#: google/siglip-so400m-patch14-384's vision config (what LLaVA-NeXT loads).
SO400M = dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
              num_attention_heads=16, image_size=384, patch_size=14,
              layer_norm_eps=1e-6, hidden_act='gelu_pytorch_tanh')

#: Structural Qwen2 config fields carried into the grounder's ``llm_config``.
TEXT_KEYS = ('vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers',
             'num_attention_heads', 'num_key_value_heads', 'hidden_act',
             'max_position_embeddings', 'rms_norm_eps', 'rope_parameters',
             'tie_word_embeddings', 'use_sliding_window', 'sliding_window',
             'max_window_layers', 'attention_dropout', 'bos_token_id', 'eos_token_id',
             'initializer_range')

# The hub layout of llava-hf checkpoints -> transformers 5's names (the same
# renames as transformers' conversion mapping for llava_next-style models).
_HF_RENAMES = [(r'^language_model\.lm_head\.', 'lm_head.'),
               (r'^language_model\.model\.', 'model.language_model.'),
               (r'^language_model\.', 'model.language_model.'),
               (r'^vision_tower\.', 'model.vision_tower.'),
               (r'^multi_modal_projector\.', 'model.multi_modal_projector.'),
               (r'^image_newline$', 'model.image_newline')]

_NEWLINE_POSITIONS = dict(grid='grid', frame='frame', one_token=None, no_token=None)

_SUPPORTED = ("'llava_qwen' (lmms-lab LLaVA-NeXT LlavaQwenForCausalLM) and "
              "'llava_onevision' (llava-hf LlavaOnevisionForConditionalGeneration)")
#: LLaVA-NeXT's language models (llava/model/language_model/*.py) and llava-hf's classes:
#: the class ``save_pretrained`` writes into ``architectures`` -> the layout it means.
_LLAVA_ARCHITECTURES = dict(
    LlavaQwenForCausalLM='llava_qwen', LlavaLlamaForCausalLM='llava_llama',
    LlavaMistralForCausalLM='llava_mistral', LlavaMixtralForCausalLM='llava_mixtral',
    LlavaGemmaForCausalLM='llava_gemma', LlavaMptForCausalLM='llava_mpt',
    LlavaQwenMoeForCausalLM='llava_qwen_moe',
    LlavaForConditionalGeneration='llava (llava-hf)',
    LlavaNextForConditionalGeneration='llava_next (llava-hf)',
    LlavaNextVideoForConditionalGeneration='llava_next_video (llava-hf)')
_LLAVA_NEXT_MODEL_TYPES = ('llava_qwen', 'llava_llama', 'llava_mistral', 'llava_mixtral',
                           'llava_gemma', 'llava_mpt', 'llava_qwen_moe', 'llava_next',
                           'llava_next_video')
#: A text model_type beside ``mm_*`` keys -> the LLaVA-NeXT layout it means.
_TEXT_MODEL_TYPES = dict(qwen2='llava_qwen', llama='llava_llama', mistral='llava_mistral',
                         mixtral='llava_mixtral', gemma='llava_gemma', mpt='llava_mpt',
                         qwen2_moe='llava_qwen_moe')

#: LLaVA-NeXT's ``mm_projector_type`` values this loader builds -> mmstvg's projector.
PROJECTOR_TYPES = dict(mlp2x_gelu='MLPProjector', linear='LinearProjector',
                       identity='IdentityProjector')
#: Tower config fields the tensors cannot tell.
_TOWER_UNREADABLE = ('num_attention_heads', 'layer_norm_eps', 'hidden_act')


class LlavaCheckpoint:
    """A LLaVA checkpoint directory: its layout, part configs and tensors.

    Args:
        path: the directory (``config.json`` + ``*.safetensors``).
    """

    def __init__(self, path: str):
        self.path = path
        config_file = osp.join(path, 'config.json')
        if not osp.isfile(config_file):
            raise FileNotFoundError(f'{config_file}: no such file (a LLaVA checkpoint '
                                    'directory has config.json and *.safetensors)')
        with open(config_file) as f:
            self.config = json.load(f)
        self.config_file = config_file
        self.layout = self._detect_layout()
        self.weight_files = self._weight_files()
        self.key_files = self._index_keys()

    # ------------------------------------------------------------ reading
    def _detect_layout(self) -> str:
        """The layout from ``model_type`` / ``architectures``.

        ``architectures`` (the class ``save_pretrained`` ran on) wins over
        ``model_type``: lmms-lab's hub files say ``model_type='llava'`` for every
        language model. A plain text ``model_type`` (``qwen2``, ``llama``) beside
        ``mm_*`` keys names the language model too.
        """
        cfg = self.config
        model_type = cfg.get('model_type')
        architectures = cfg.get('architectures') or []
        found = 'llava_onevision' if (model_type == 'llava_onevision' or
                                      'LlavaOnevisionForConditionalGeneration'
                                      in architectures) else None
        for arch in architectures:
            found = found or _LLAVA_ARCHITECTURES.get(arch)
        if found is None and model_type in _LLAVA_NEXT_MODEL_TYPES:
            found = model_type
        if found is None and 'mm_vision_tower' in cfg and model_type in _TEXT_MODEL_TYPES:
            found = _TEXT_MODEL_TYPES[model_type]
        seen = f'model_type={model_type!r}, architectures={architectures}'
        if found in LAYOUTS:
            return found
        if found is not None:
            raise ValueError(
                f'{self.config_file}: unsupported checkpoint layout {found!r} ({seen}); '
                f'supported: {_SUPPORTED}')
        if 'mm_vision_tower' in cfg:
            raise ValueError(
                f'{self.config_file}: a LLaVA-NeXT config ({seen}) that does not say '
                "which language model it holds; set architectures=['LlavaQwenForCausalLM'] "
                f'if it is Qwen2-based (supported: {_SUPPORTED})')
        raise ValueError(
            f'{self.config_file}: unknown checkpoint layout ({seen}); supported: {_SUPPORTED}')

    def _weight_files(self) -> List[str]:
        index = osp.join(self.path, 'model.safetensors.index.json')
        if osp.isfile(index):
            with open(index) as f:
                names = sorted(set(json.load(f)['weight_map'].values()))
            return [osp.join(self.path, n) for n in names]
        single = osp.join(self.path, 'model.safetensors')
        if osp.isfile(single):
            return [single]
        raise FileNotFoundError(
            f'{self.path}: no model.safetensors(.index.json); pickled *.bin '
            'checkpoints are not read (convert them with save_pretrained('
            'safe_serialization=True))')

    def _index_keys(self) -> Dict[str, str]:
        from safetensors import safe_open
        key_files = {}
        for file in self.weight_files:
            with safe_open(file, framework='pt') as f:
                for key in f.keys():
                    key_files[self.normalize_key(key)] = (file, key)
        return key_files

    def normalize_key(self, key: str) -> str:
        """A file key in the layout's current names (llava-hf hub -> transformers 5)."""
        if self.layout == 'llava_onevision':
            for pattern, repl in _HF_RENAMES:
                if re.match(pattern, key):
                    return re.sub(pattern, repl, key, count=1)
        return key

    def shape(self, key: str) -> Tuple[int, ...]:
        from safetensors import safe_open
        file, raw = self._lookup(key)
        with safe_open(file, framework='pt') as f:
            return tuple(f.get_slice(raw).get_shape())

    def _lookup(self, key: str) -> Tuple[str, str]:
        if key not in self.key_files:
            raise KeyError(f'{self.path}: the checkpoint has no tensor {key!r} '
                           f'({self.layout} layout)')
        return self.key_files[key]

    # ------------------------------------------------------------ configs
    def vision_config(self, given: Optional[dict] = None) -> dict:
        """The tower's ``vision_config`` as the checkpoint holds it.

        ``llava_qwen`` keeps no vision config, only the tower's name
        (``mm_vision_tower``; LLaVA-NeXT builds the tower from that name's
        config). Width, MLP width, kept layers, patch and image size are read
        from the tensors. The head count (and the norm eps and activation),
        which tensors cannot tell, come from, in order: a tower config in the
        checkpoint (``mm_vision_tower_config``, written by mmstvg's export, or
        ``vision_config``), ``mm_vision_tower`` when it is a local directory
        with a ``config.json``, the grounder's ``vision_config`` (``given``),
        and so400m's only for a tower of so400m's shape. A given value that
        contradicts the checkpoint's, or a tower config that contradicts the
        tensors, is an error.

        Args:
            given: the grounder config's ``vision_config``; only
                ``num_attention_heads``, ``layer_norm_eps`` and ``hidden_act``
                are read (the rest comes from the checkpoint).
        """
        given = {k: v for k, v in (given or {}).items()
                 if k in _TOWER_UNREADABLE and v is not None}
        if self.layout == 'llava_onevision':
            cfg = dict(self.config['vision_config'])
            for key in ('architectures', 'transformers_version', '_name_or_path', 'dtype',
                        'torch_dtype'):
                cfg.pop(key, None)
            return cfg
        prefix = 'model.vision_tower.vision_tower.vision_model.'
        layers = {int(m.group(1)) for k in self.key_files
                  if (m := re.match(re.escape(prefix) + r'encoder\.layers\.(\d+)\.', k))}
        if not layers:
            raise KeyError(f'{self.path}: no {prefix}encoder.layers.* tensors')
        patch = self.shape(prefix + 'embeddings.patch_embedding.weight')
        positions = self.shape(prefix + 'embeddings.position_embedding.weight')[0]
        fc1 = self.shape(prefix + 'encoder.layers.0.mlp.fc1.weight')
        side = int(round(positions ** 0.5))
        if side * side != positions:
            raise ValueError(f'{self.path}: {positions} position embeddings are not a square '
                             'grid of patches')
        shape = dict(hidden_size=patch[0], intermediate_size=fc1[0], patch_size=patch[-1],
                     image_size=side * patch[-1])
        cfg = dict(SO400M, model_type='siglip_vision_model', **shape,
                   num_hidden_layers=max(layers) + 1, vision_use_head=False)
        source, tower = self._tower_config()
        if tower is not None:
            for key, value in shape.items():
                ours = tower[key]
                if key == 'image_size':  # so400m: 384 px, 27 x 27 patches of 14
                    ours, value = ours // shape['patch_size'], side
                if ours != value:
                    raise ValueError(
                        f'{source}: the tower config says {key}={tower[key]} but the '
                        f"tensors of {self.path} give "
                        f"{shape[key] if key != 'image_size' else f'{side} x {side} patches'}")
            cfg['image_size'] = tower['image_size']
            for key in _TOWER_UNREADABLE:
                cfg[key] = tower[key]
                if key in given and given[key] != tower[key]:
                    raise ValueError(
                        f'vision_encoder.vision_config.{key}={given[key]!r} contradicts '
                        f"the checkpoint's {tower[key]!r} ({source}); remove it from the "
                        'config')
        elif 'num_attention_heads' in given:
            cfg.update(given)
            source = 'vision_encoder.vision_config'
        elif (shape['hidden_size'], shape['intermediate_size']) == (
                SO400M['hidden_size'], SO400M['intermediate_size']):
            cfg.update(given)
            source = "so400m's (a so400m-shaped tower)"
        else:
            raise ValueError(
                f'{self.path}: the vision tower is {shape["hidden_size"]} wide (MLP '
                f'{shape["intermediate_size"]}), not so400m ({SO400M["hidden_size"]}, '
                f'{SO400M["intermediate_size"]}), and the checkpoint has no tower config '
                f'(mm_vision_tower={self.config.get("mm_vision_tower")!r} is not a local '
                'directory with a config.json; no mm_vision_tower_config): its '
                'num_attention_heads cannot be read. Set model.vision_encoder.vision_config'
                '.num_attention_heads (also layer_norm_eps / hidden_act if not so400m\'s), '
                'or point mm_vision_tower at the tower\'s directory')
        if cfg['hidden_size'] % cfg['num_attention_heads']:
            raise ValueError(f'{self.path}: a {cfg["hidden_size"]}-wide tower cannot have '
                             f'{cfg["num_attention_heads"]} heads ({source})')
        self.vision_heads_source = source
        return cfg

    def _tower_config(self) -> Tuple[Optional[str], Optional[dict]]:
        """``(where, config)`` of the tower's own config, if the checkpoint has
        one, with transformers' SigLIP defaults for the keys it leaves out
        (``save_pretrained`` writes only the non-default ones)."""
        source, tower = None, None
        for key in ('mm_vision_tower_config', 'vision_config'):
            if isinstance(self.config.get(key), dict):
                source, tower = f'{self.config_file}: {key}', self.config[key]
                break
        name = self.config.get('mm_vision_tower')
        if tower is None and isinstance(name, str):
            for folder in (name, osp.join(self.path, name)):
                file = osp.join(folder, 'config.json')
                if osp.isfile(file):
                    with open(file) as f:
                        tower = json.load(f)
                    # a dual-tower SigLIP directory: its vision side
                    source, tower = file, tower.get('vision_config', tower)
                    break
        if tower is None:
            return None, None
        from transformers import SiglipVisionConfig
        model_type = tower.get('model_type', 'siglip_vision_model')
        if model_type != 'siglip_vision_model':
            raise ValueError(f'{source}: a {model_type!r} tower; the llava_qwen layout is '
                             'read with a SigLIP tower')
        skip = ('model_type', 'architectures', 'transformers_version', '_name_or_path',
                'dtype', 'torch_dtype')
        return source, SiglipVisionConfig(
            **{k: v for k, v in tower.items() if k not in skip}).to_dict()

    def select_layer(self) -> int:
        if self.layout == 'llava_onevision':
            layer = self.config.get('vision_feature_layer', -1)
            if not isinstance(layer, int):
                raise ValueError(f'{self.config_file}: vision_feature_layer={layer!r}; '
                                 'one layer is supported')
            return layer
        return -1  # the 26 kept layers' last (siglip_encoder.py)

    def text_config(self) -> dict:
        """The LLM's ``llm_config`` (Qwen2) as the checkpoint holds it."""
        from transformers import AutoConfig
        if self.layout == 'llava_onevision':
            raw = dict(self.config['text_config'])
        else:
            raw = {k: v for k, v in self.config.items() if not k.startswith('mm_')}
            raw['model_type'] = 'qwen2'
        model_type = raw.pop('model_type', 'qwen2')
        for key in ('architectures', 'transformers_version', '_name_or_path', 'dtype',
                    'torch_dtype'):
            raw.pop(key, None)
        config = AutoConfig.for_model(model_type, **raw).to_dict()
        text = {k: config[k] for k in TEXT_KEYS if k in config}
        text['model_type'] = model_type
        self.check_vocab(text['vocab_size'])
        return text

    def embedding_keys(self) -> List[str]:
        """The file's input and output embedding tensors (in normalised names)."""
        embed = ('model.language_model.embed_tokens.weight'
                 if self.layout == 'llava_onevision' else 'model.embed_tokens.weight')
        return [k for k in (embed, 'lm_head.weight') if k in self.key_files]

    def check_vocab(self, vocab_size: int) -> None:
        """The text config's ``vocab_size`` must equal the embeddings' rows.

        Rows are never cut nor padded: transformers' ``from_pretrained``
        refuses such a file too. Tokens the grounder adds (``special_tokens``,
        a larger tokenizer) extend the matrices by ``resize_token_embeddings``
        after the build, and are logged there.
        """
        where = (f"{self.config_file}: text_config" if self.layout == 'llava_onevision'
                 else self.config_file)
        for key in self.embedding_keys():
            rows = self.shape(key)[0]
            if rows != vocab_size:
                raise ValueError(
                    f'{where} says vocab_size={vocab_size} but {self.key_files[key][0]}\'s '
                    f'{key!r} has {rows} rows; set vocab_size to the file\'s {rows} '
                    '(rows are neither cut nor padded at random)')

    # ------------------------------------------------------------ projector
    def projector_type(self) -> str:
        """The projector's LLaVA type, checked against the file's tensors.

        ``llava_qwen``: ``mm_projector_type`` (absent: LLaVA-NeXT's default
        ``'linear'``, ``build_vision_projector``). ``llava_onevision``:
        transformers' 2-layer MLP with ``projector_hidden_act``.

        Raises:
            KeyError: the tensors are not the declared type's.
            NotImplementedError: a type without an mmstvg projector.
        """
        if self.layout == 'llava_onevision':
            act = self.config.get('projector_hidden_act', 'gelu')
            if act != 'gelu':
                raise NotImplementedError(
                    f'{self.config_file}: projector_hidden_act={act!r}; MLPProjector '
                    "applies 'gelu'")
            return 'mlp2x_gelu'
        declared = self.config.get('mm_projector_type', 'linear')
        prefix = 'model.mm_projector.'
        names = {k[len(prefix):] for k in self.key_files if k.startswith(prefix)}
        found = _projector_kind(names)
        expected = _projector_names(declared)
        if expected is not None and names != expected:
            extra = sorted(prefix + n for n in names - expected)
            missing = sorted(prefix + n for n in expected - names)
            absent = '' if 'mm_projector_type' in self.config else " (absent: LLaVA's default)"
            holds = f'an {found!r} projector' if found else 'no projector LLaVA builds'
            raise KeyError(
                f'{self.path}: config.json declares mm_projector_type={declared!r}{absent} '
                f'but the file holds {holds} (unexpected {extra[:6]}, missing '
                f'{missing[:6]}); fix mm_projector_type')
        if declared not in PROJECTOR_TYPES:
            raise NotImplementedError(
                f'{self.config_file}: mm_projector_type={declared!r} is not supported; '
                f'supported: {sorted(PROJECTOR_TYPES)}')
        return declared

    def projector_config(self, projector: Optional[dict]) -> dict:
        """The grounder's projector config for the checkpoint's projector type.

        One of mmstvg's LLaVA projectors (``MLPProjector``, ``LinearProjector``,
        ``IdentityProjector``) becomes the checkpoint's; another type is kept
        (:func:`load_llava_weights` checks its parameters).
        """
        kind = self.projector_type()
        cfg = copy.deepcopy(dict(projector or {}))
        wanted = PROJECTOR_TYPES[kind]
        if cfg.get('type', wanted) in PROJECTOR_TYPES.values() and cfg.get('type') != wanted:
            print_log(f'{self.path}: mm_projector_type={kind!r}: projector '
                      f"{cfg.get('type')} -> {wanted}", logger='current')
            cfg['type'] = wanted
            if wanted == 'IdentityProjector':
                cfg = {k: v for k, v in cfg.items()
                       if k in ('type', 'init_cfg', 'in_channels', 'out_channels')}
        return cfg

    def pooler_config(self) -> dict:
        """``LlavaFeaturePooler`` arguments for video, as the base model pools."""
        if self.layout == 'llava_onevision':
            # transformers' apply_pooling: bilinear, stride 2; one newline
            # after the whole video (no per-frame equivalent).
            return dict(type='LlavaFeaturePooler', mode='bilinear', stride=2, newline=None)
        cfg = self.config
        position = cfg.get('mm_newline_position', 'one_token')
        if position not in _NEWLINE_POSITIONS:
            raise ValueError(f'{self.config_file}: mm_newline_position={position!r}; known: '
                             f'{sorted(_NEWLINE_POSITIONS)}')
        if cfg.get('add_faster_video', False):
            raise NotImplementedError(f'{self.config_file}: add_faster_video=True '
                                      '(SlowFast tokens) is not supported')
        return dict(type='LlavaFeaturePooler',
                    mode=cfg.get('mm_spatial_pool_mode', 'bilinear'),
                    stride=int(cfg.get('mm_spatial_pool_stride', 2)),
                    newline=_NEWLINE_POSITIONS[position])

    # ------------------------------------------------------------ mapping
    def destination(self, key: str) -> Tuple[str, str]:
        """``(part, name)`` a file key goes to: part is ``vision``, ``projector``,
        ``decoder``, ``lm_head``, ``newline`` or ``ignored``."""
        if self.layout == 'llava_onevision':
            rules = [('model.vision_tower.', 'vision'),
                     ('model.multi_modal_projector.', 'projector'),
                     ('model.language_model.', 'decoder')]
        else:
            rules = [('model.vision_tower.vision_tower.', 'vision'),
                     ('model.mm_projector.', 'projector'), ('model.', 'decoder')]
        if key == 'lm_head.weight':
            return 'lm_head', 'weight'
        if key == 'model.image_newline':
            return 'newline', 'image_newline'
        for prefix, part in rules:
            if key.startswith(prefix):
                name = key[len(prefix):]
                if part == 'projector' and self.layout == 'llava_qwen':
                    name = self._projector_name(key, name)
                return part, name
        raise KeyError(f'{self.path}: tensor {key!r} belongs to no part of the '
                       f'{self.layout} layout')

    def _projector_name(self, key: str, name: str) -> str:
        """``mm_projector`` names -> MLPProjector's / LinearProjector's."""
        kind = self._projector_kind_cached()
        if kind == 'linear' and name in ('weight', 'bias'):
            return f'linear.{name}'
        index, _, param = name.partition('.')
        linear = dict([('0', 'linear_1'), ('2', 'linear_2')]).get(index)
        if kind != 'mlp2x_gelu' or linear is None:
            raise KeyError(f'{self.path}: {key!r} is not part of an {kind!r} projector')
        return f'{linear}.{param}'

    def _projector_kind_cached(self) -> str:
        if not hasattr(self, '_projector'):
            self._projector = self.projector_type()
        return self._projector

    def tensors(self):
        """Yield ``(key, tensor)``, one tensor in memory at a time."""
        from safetensors import safe_open
        by_file = defaultdict(list)
        for key, (file, raw) in self.key_files.items():
            by_file[file].append((key, raw))
        for file, keys in by_file.items():
            with safe_open(file, framework='pt') as f:
                for key, raw in sorted(keys):
                    yield key, f.get_tensor(raw)


def _projector_names(kind: str) -> Optional[set]:
    """The ``mm_projector.*`` tensor names of a LLaVA projector type (None: unknown)."""
    if kind == 'identity':
        return set()
    if kind == 'linear':
        return {'weight', 'bias'}
    match = re.fullmatch(r'mlp(\d+)x_gelu', kind)
    if match:
        return {f'{2 * i}.{p}' for i in range(int(match.group(1))) for p in ('weight', 'bias')}
    return None


def _projector_kind(names: set) -> Optional[str]:
    """The LLaVA projector type whose tensors are ``names`` (None: none of them)."""
    if not names:
        return 'identity'
    if names == {'weight', 'bias'}:
        return 'linear'
    if all(re.fullmatch(r'\d+\.(weight|bias)', n) for n in names):
        depth = len({n.split('.')[0] for n in names})
        if names == _projector_names(f'mlp{depth}x_gelu'):
            return f'mlp{depth}x_gelu'
    return None


def fill_projector_config(path: str, projector: dict) -> dict:
    """The grounder's projector config for a LLaVA checkpoint's projector type
    (:meth:`LlavaCheckpoint.projector_config`)."""
    return LlavaCheckpoint(path).projector_config(projector)


def fill_part_configs(path: str, vision_encoder: dict, llm: dict,
                      feature_pooler: Optional[dict]):
    """Part configs built from a LLaVA checkpoint's own configs.

    The tower becomes ``vision_config`` + the checkpoint's feature layer (no
    pooling in the tower), the LLM ``llm_config`` (its tokenizer: the
    checkpoint's unless one is given), the pooler the checkpoint's video
    pooling with the config's own keys winning. Options such as ``dtype``,
    ``freeze`` or ``gradient_checkpointing`` stay the config's.

    Returns:
        ``(vision_encoder, llm, feature_pooler, lora)``: ``lora`` is the LLM's
        LoRA config, removed from ``llm`` so that it is applied after loading.
    """
    ckpt = LlavaCheckpoint(path)
    vision = copy.deepcopy(dict(vision_encoder))
    vision.pop('pretrained_model_name_or_path', None)
    vision['vision_config'] = ckpt.vision_config(vision.get('vision_config'))
    vision['select_layer'] = ckpt.select_layer()
    vision['pool_size'] = 1
    vision['drop_cls'] = 'auto'
    text = copy.deepcopy(dict(llm))
    text.pop('pretrained_model_name_or_path', None)
    text['llm_config'] = ckpt.text_config()
    if not text.get('tokenizer'):
        text['tokenizer'] = path
    lora = text.pop('lora', None)
    pooler = ckpt.pooler_config()
    pooler.update(copy.deepcopy(dict(feature_pooler or {})))
    heads_from = getattr(ckpt, 'vision_heads_source', None)
    print_log(f'{path}: {ckpt.layout} layout; tower of '
              f"{vision['vision_config']['num_hidden_layers']} layers read at "
              f"{vision['select_layer']}"
              f"{f', heads from {heads_from}' if heads_from else ''}, pooling {pooler}",
              logger='current')
    return vision, text, pooler, lora


def _copy(dst: torch.Tensor, src: torch.Tensor, where: str) -> None:
    if dst.shape != src.shape:
        raise ValueError(f'{where}: checkpoint shape {tuple(src.shape)} does not match '
                         f'the grounder\'s {tuple(dst.shape)}')
    dst.copy_(src)


def _copy_rows(dst: torch.Tensor, src: torch.Tensor, where: str, tokenizer_size: int) -> None:
    """An embedding matrix: the file's rows, then (only) the rows of tokens the
    grounder's tokenizer adds, which ``resize_token_embeddings`` made (and the
    LLM logged). Rows are never cut, nor left random for the file's vocabulary."""
    if dst.shape[0] == src.shape[0] or (dst.shape[0] > src.shape[0]
                                        and dst.shape[0] == tokenizer_size):
        if dst.shape[1:] != src.shape[1:]:
            raise ValueError(f'{where}: checkpoint shape {tuple(src.shape)} does not match '
                             f'the grounder\'s {tuple(dst.shape)}')
        dst[:src.shape[0]].copy_(src)
        return
    raise ValueError(f'{where}: the checkpoint has {src.shape[0]} rows, the grounder\'s '
                     f'embeddings {dst.shape[0]} (its tokenizer: {tokenizer_size} tokens); '
                     'rows are neither cut nor padded at random: build the LLM with the '
                     "checkpoint's vocab_size")


def _tower_name(name: str, tower_state: dict) -> str:
    """A tower key in the built tower's names: checkpoints (LLaVA-NeXT, the
    llava-hf hub files) say ``vision_model.embeddings...``, transformers 5's
    ``SiglipVisionModel`` has no ``vision_model`` level."""
    if name in tower_state:
        return name
    if name.startswith('vision_model.') and name[len('vision_model.'):] in tower_state:
        return name[len('vision_model.'):]
    if f'vision_model.{name}' in tower_state:
        return f'vision_model.{name}'
    return name


@torch.no_grad()
def load_llava_weights(grounder: nn.Module, path: str) -> Dict[str, int]:
    """Stream a LLaVA checkpoint's tensors into a grounder built by
    :func:`fill_part_configs` (before LoRA is applied).

    Returns:
        Tensors copied per part.

    Raises:
        KeyError / ValueError naming the file and the key: a tensor that maps
        to nothing, a grounder weight the file does not have, a shape mismatch.
    """
    ckpt = LlavaCheckpoint(path)
    llm = grounder.llm
    if hasattr(llm.model, 'peft_config'):
        raise RuntimeError('load the LLaVA weights before applying LoRA')
    projector = grounder.projector
    kind = ckpt.projector_type()
    layers = dict(mlp2x_gelu=('linear_1', 'linear_2'), linear=('linear',), identity=())[kind]
    has = [n for n in ('linear', 'linear_1', 'linear_2') if hasattr(projector, n)]
    if has != list(layers) or (kind == 'identity' and any(projector.parameters())):
        raise TypeError(f'{path}: the checkpoint has an {kind!r} projector: use '
                        f'projector=dict(type={PROJECTOR_TYPES[kind]!r}), not '
                        f'{type(projector).__name__}')
    pooler = getattr(grounder, 'feature_pooler', None)
    embed = llm.hf_model.get_input_embeddings().weight
    output = llm.hf_model.get_output_embeddings().weight
    targets = dict(vision=dict(grounder.vision_encoder.model.state_dict(keep_vars=True)),
                   projector={k: v for k, v in projector.state_dict(keep_vars=True).items()
                              if k.split('.')[0] in layers},
                   decoder=dict(llm.decoder.state_dict(keep_vars=True)))
    todo = {(part, name) for part, names in targets.items() for name in names}
    tied = output is embed
    if not tied:
        todo.add(('lm_head', 'weight'))
    counts = defaultdict(int)
    for key, tensor in ckpt.tensors():
        part, name = ckpt.destination(key)
        where = f'{path}: {key!r} -> {part}.{name}'
        if part == 'newline':
            if pooler is not None and getattr(pooler, 'image_newline', None) is not None:
                _copy(pooler.image_newline.data, tensor.to(pooler.image_newline.dtype), where)
                counts[part] += 1
            continue  # the base model's newline is not used by this grounder's pooling
        if part == 'lm_head':
            if tied:
                continue
            _copy_rows(output.data, tensor.to(output.dtype), where, len(llm.tokenizer))
        else:
            if part == 'vision':
                name = _tower_name(name, targets['vision'])
            dst = targets[part].get(name)
            if dst is None:
                raise KeyError(f'{where}: the grounder has no such weight')
            if name == 'embed_tokens.weight':
                _copy_rows(dst.data, tensor.to(dst.dtype), where, len(llm.tokenizer))
            else:
                _copy(dst.data, tensor.to(dst.dtype), where)
        todo.discard((part, name))
        counts[part] += 1
    if todo:
        missing = sorted(f'{p}.{n}' for p, n in todo)
        raise KeyError(f'{path}: the checkpoint lacks {len(missing)} weights the grounder '
                       f'needs, e.g. {missing[:5]}')
    if pooler is not None and getattr(pooler, 'image_newline', None) is not None \
            and not counts['newline']:
        raise KeyError(f'{path}: the pooler places image_newline tokens but the '
                       "checkpoint has no 'model.image_newline'")
    for module in (projector, pooler):
        if module is not None:
            module._is_init = True  # keep the loaded weights through init_weights()
    if embed.shape[0] > ckpt.shape(ckpt.embedding_keys()[0])[0]:
        print_log(f'{path}: embedding rows {ckpt.shape(ckpt.embedding_keys()[0])[0]}..'
                  f'{embed.shape[0] - 1} are the tokens the tokenizer adds (not in the '
                  'checkpoint; initialised by resize_token_embeddings)', logger='current')
    print_log(f'loaded {dict(counts)} tensors from {path} ({ckpt.layout})', logger='current')
    return dict(counts)
