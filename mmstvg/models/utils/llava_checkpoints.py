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
``mm_*`` keys; there is no transformers class for it)::

    model.vision_tower.vision_tower.*      -> vision_encoder.model.*
    model.mm_projector.{0,2}               -> projector.linear_{1,2}
    model.image_newline                    -> feature_pooler.image_newline
    model.* (embed_tokens, layers, norm)   -> llm decoder
    lm_head.weight                         -> llm output embeddings

LLaVA-NeXT's SigLIP tower (``siglip_encoder.py``) is so400m with its last
encoder layer deleted and the pooling head replaced by ``Identity``; it reads
the last remaining layer (``hidden_states[-1]`` of 26 layers, what
``mm_vision_select_layer=-2`` means on the 27-layer so400m). Pooling follows
``llava_arch.py``: projector first, then ``mm_spatial_pool_mode`` /
``mm_spatial_pool_stride``; ``mm_newline_position`` says where
``image_newline`` goes for video (LLaVA-NeXT's default ``'one_token'``: once
after the whole video).

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

__all__ = ['LlavaCheckpoint', 'fill_part_configs', 'load_llava_weights', 'LAYOUTS']

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
        cfg = self.config
        architectures = cfg.get('architectures') or []
        if cfg.get('model_type') == 'llava_onevision':
            return 'llava_onevision'
        if 'LlavaQwenForCausalLM' in architectures or cfg.get('model_type') == 'llava_qwen' \
                or ('mm_vision_tower' in cfg and 'hidden_size' in cfg):
            return 'llava_qwen'
        raise ValueError(
            f"{self.config_file}: unknown checkpoint layout (model_type="
            f"{cfg.get('model_type')!r}, architectures={architectures}); known: "
            "'llava_onevision' (llava-hf) and 'llava_qwen' (lmms-lab LlavaQwenForCausalLM)")

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
    def vision_config(self, num_attention_heads: Optional[int] = None) -> dict:
        """The tower's ``vision_config`` as the checkpoint holds it."""
        if self.layout == 'llava_onevision':
            cfg = dict(self.config['vision_config'])
            for key in ('architectures', 'transformers_version', '_name_or_path', 'dtype',
                        'torch_dtype'):
                cfg.pop(key, None)
            return cfg
        # llava_qwen stores only the tower's name: the so400m config, its
        # sizes checked against (and, for other towers, read from) the tensors.
        prefix = 'model.vision_tower.vision_tower.vision_model.'
        layers = {int(m.group(1)) for k in self.key_files
                  if (m := re.match(re.escape(prefix) + r'encoder\.layers\.(\d+)\.', k))}
        if not layers:
            raise KeyError(f'{self.path}: no {prefix}encoder.layers.* tensors')
        patch = self.shape(prefix + 'embeddings.patch_embedding.weight')
        positions = self.shape(prefix + 'embeddings.position_embedding.weight')[0]
        fc1 = self.shape(prefix + 'encoder.layers.0.mlp.fc1.weight')
        side = int(round(positions ** 0.5))
        cfg = dict(SO400M, model_type='siglip_vision_model', hidden_size=patch[0],
                   patch_size=patch[-1], image_size=side * patch[-1],
                   intermediate_size=fc1[0], num_hidden_layers=max(layers) + 1,
                   vision_use_head=False)
        if num_attention_heads is not None:
            cfg['num_attention_heads'] = num_attention_heads
        if cfg['hidden_size'] % cfg['num_attention_heads']:
            raise ValueError(f'{self.path}: a {cfg["hidden_size"]}-wide tower cannot have '
                             f'{cfg["num_attention_heads"]} heads; give '
                             'vision_encoder.vision_config.num_attention_heads')
        return cfg

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
        return text

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
                    index, _, param = name.partition('.')
                    linear = dict([('0', 'linear_1'), ('2', 'linear_2')]).get(index)
                    if linear is None:
                        raise KeyError(f'{self.path}: {key!r}: mm_projector.{index} is not '
                                       "an 'mlp2x_gelu' projector's linear layer")
                    name = f'{linear}.{param}'
                return part, name
        raise KeyError(f'{self.path}: tensor {key!r} belongs to no part of the '
                       f'{self.layout} layout')

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
    heads = (vision.get('vision_config') or {}).get('num_attention_heads')
    vision.pop('pretrained_model_name_or_path', None)
    vision['vision_config'] = ckpt.vision_config(heads)
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
    print_log(f'{path}: {ckpt.layout} layout; tower of '
              f"{vision['vision_config']['num_hidden_layers']} layers read at "
              f"{vision['select_layer']}, pooling {pooler}", logger='current')
    return vision, text, pooler, lora


def _copy(dst: torch.Tensor, src: torch.Tensor, where: str, rows: bool = False) -> None:
    if rows:
        if dst.shape[1:] != src.shape[1:]:
            raise ValueError(f'{where}: checkpoint shape {tuple(src.shape)} does not match '
                             f'the grounder\'s {tuple(dst.shape)}')
        count = min(dst.shape[0], src.shape[0])
        dst[:count].copy_(src[:count])
        return
    if dst.shape != src.shape:
        raise ValueError(f'{where}: checkpoint shape {tuple(src.shape)} does not match '
                         f'the grounder\'s {tuple(dst.shape)}')
    dst.copy_(src)


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
    if not (hasattr(projector, 'linear_1') and hasattr(projector, 'linear_2')):
        raise TypeError('LLaVA has a 2-layer MLP projector: use '
                        f"projector=dict(type='MLPProjector'), not {type(projector).__name__}")
    pooler = getattr(grounder, 'feature_pooler', None)
    embed = llm.hf_model.get_input_embeddings().weight
    output = llm.hf_model.get_output_embeddings().weight
    targets = dict(vision=dict(grounder.vision_encoder.model.state_dict(keep_vars=True)),
                   projector={k: v for k, v in projector.state_dict(keep_vars=True).items()
                              if k.startswith('linear_')},
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
            _copy(output.data, tensor.to(output.dtype), where, rows=True)
        else:
            if part == 'vision':
                name = _tower_name(name, targets['vision'])
            dst = targets[part].get(name)
            if dst is None:
                raise KeyError(f'{where}: the grounder has no such weight')
            _copy(dst.data, tensor.to(dst.dtype), where, rows=name == 'embed_tokens.weight')
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
    print_log(f'loaded {dict(counts)} tensors from {path} ({ckpt.layout})', logger='current')
    return dict(counts)
