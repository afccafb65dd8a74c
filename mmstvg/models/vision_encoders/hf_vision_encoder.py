"""The vision encoder: any transformers vision model, frames -> tokens per frame."""
import math
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmstvg.models.llm_backbones.hf_causal_lm import resolve_dtype
from mmstvg.registry import VISION_ENCODERS

__all__ = ['HFVisionEncoder', 'pool_frame_tokens']


def pool_frame_tokens(tokens: torch.Tensor, grid_hw: tuple, pool_size: int,
                      mode: str = 'avg') -> torch.Tensor:
    """Pool each frame's patch tokens on their 2-D grid.

    Args:
        tokens: ``(N, h * w, C)`` patch tokens, row-major.
        grid_hw: ``(h, w)`` patch grid.
        pool_size: window (and stride) ``k``; the grid becomes
            ``(ceil(h / k), ceil(w / k))``. 1 keeps the tokens.
        mode: ``'avg'`` (LLaVA-Video's 2x2 average), ``'max'`` or
            ``'bilinear'`` (LLaVA-OneVision's video pooling).

    Returns:
        ``(N, ceil(h / k) * ceil(w / k), C)``.
    """
    if pool_size == 1:
        return tokens
    num, length, channels = tokens.shape
    height, width = grid_hw
    if length != height * width:
        raise ValueError(f'{length} tokens do not fill a {height}x{width} patch grid')
    grid = tokens.transpose(1, 2).reshape(num, channels, height, width)
    if mode == 'avg':
        grid = F.avg_pool2d(grid, pool_size, pool_size, ceil_mode=True)
    elif mode == 'max':
        grid = F.max_pool2d(grid, pool_size, pool_size, ceil_mode=True)
    elif mode == 'bilinear':
        size = (math.ceil(height / pool_size), math.ceil(width / pool_size))
        grid = F.interpolate(grid, size=size, mode='bilinear')
    else:
        raise ValueError(f"pool_mode must be 'avg', 'max' or 'bilinear', got {mode!r}")
    return grid.flatten(2).transpose(1, 2)


@VISION_ENCODERS.register_module()
class HFVisionEncoder(BaseModule):
    """A transformers vision tower (SigLIP, CLIP, ...) that encodes frames.

    Features are read from ``hidden_states[select_layer]`` (LLaVA reads the
    second last layer of CLIP, ``select_layer=-2``; LLaVA-OneVision the last
    of SigLIP, ``-1``), the CLS token is dropped when the model has one, and
    each frame's patch grid is pooled by ``pool_size`` so the number of tokens
    per frame is a config value. Frames are encoded ``chunk_size`` at a time so
    64-frame videos fit in memory.

    Args:
        pretrained_model_name_or_path: hub name or directory for
            ``AutoModel.from_pretrained``; a CLIP/SigLIP checkpoint with both
            towers gives its vision tower.
        vision_config: alternatively a config dict, e.g.
            ``dict(model_type='siglip_vision_model', hidden_size=32, ...)``
            (``AutoConfig.for_model`` + ``AutoModel.from_config``).
        select_layer: index into the hidden states (0 = embeddings).
        drop_cls: ``'auto'`` drops the first token when the model has a CLS
            token (one more token than patches); True / False force it.
        pool_size: spatial pooling window per frame (1 = none).
        pool_mode: ``'avg'``, ``'max'`` or ``'bilinear'``.
        chunk_size: frames per forward pass of the tower.
        dtype: parameter dtype of the tower.
        freeze: freeze the tower (its forward then runs without autograd).
        init_cfg: MMEngine init config (the HF weights are not re-initialised).
    """

    def __init__(self,
                 pretrained_model_name_or_path: Optional[str] = None,
                 vision_config: Optional[dict] = None,
                 select_layer: int = -2,
                 drop_cls: Union[str, bool] = 'auto',
                 pool_size: int = 1,
                 pool_mode: str = 'avg',
                 chunk_size: int = 16,
                 dtype: Union[str, torch.dtype, None] = None,
                 freeze: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        from transformers import AutoConfig, AutoModel
        if (pretrained_model_name_or_path is None) == (vision_config is None):
            raise ValueError('HFVisionEncoder needs exactly one of '
                             'pretrained_model_name_or_path and vision_config')
        torch_dtype = resolve_dtype(dtype)
        if pretrained_model_name_or_path is not None:
            kwargs = dict(dtype=torch_dtype) if torch_dtype is not None else {}
            model_class = AutoModel
            config = AutoConfig.from_pretrained(pretrained_model_name_or_path)
            if getattr(config, 'vision_config', None) is not None and getattr(
                    config, 'text_config', None) is not None:
                # A dual-tower checkpoint (SigLIP / CLIP): load its vision side,
                # as transformers documents for SiglipVisionModel.from_pretrained.
                from transformers.models.auto.modeling_auto import MODEL_MAPPING
                model_class = MODEL_MAPPING[type(config.vision_config)]
            model = model_class.from_pretrained(pretrained_model_name_or_path, **kwargs)
        else:
            cfg = dict(vision_config)
            if 'model_type' not in cfg:
                raise ValueError("vision_config needs a 'model_type', e.g. "
                                 "'siglip_vision_model' or 'clip_vision_model'")
            config = AutoConfig.for_model(cfg.pop('model_type'), **cfg)
            model = AutoModel.from_config(config)
            if torch_dtype is not None:
                model.to(torch_dtype)
        self.model = model
        config = model.config
        self.patch_size = int(config.patch_size)
        self.image_size = int(config.image_size)
        self.out_channels = int(config.hidden_size)
        if chunk_size < 1 or pool_size < 1:
            raise ValueError('chunk_size and pool_size must be >= 1')
        self.select_layer = select_layer
        self.drop_cls = drop_cls
        self.pool_size = pool_size
        self.pool_mode = pool_mode
        self.chunk_size = chunk_size
        self.frozen = freeze
        if freeze:
            self.model.requires_grad_(False)
        else:
            self._freeze_unused_parameters()

    def _freeze_unused_parameters(self) -> None:
        """Freeze what cannot reach the selected layer's features.

        The encoder layers after ``select_layer`` and the output-side modules
        (``post_layernorm``, a pooling ``head``) never receive a gradient; left
        trainable, DDP would wait for their gradients forever (it requires
        every trainable parameter to be used).
        """
        layers = None
        for name, module in self.model.named_modules():
            if name.endswith('encoder.layers') and isinstance(module, torch.nn.ModuleList):
                layers = module
                break
        if layers is None:
            return
        num_states = len(layers) + 1  # the embeddings' output, then each layer's
        used = self.select_layer % num_states  # hidden_states index = layers run
        for layer in list(layers)[used:]:
            layer.requires_grad_(False)
        for name, module in self.model.named_modules():
            if name.split('.')[-1] in ('post_layernorm', 'head'):
                module.requires_grad_(False)

    def init_weights(self) -> None:
        """Keep the pretrained (or config-initialised) Hugging Face weights."""
        self._is_init = True

    def num_tokens_per_frame(self, height: int, width: int) -> int:
        """Tokens per frame for frames of ``height x width`` pixels."""
        grid_h, grid_w = height // self.patch_size, width // self.patch_size
        return math.ceil(grid_h / self.pool_size) * math.ceil(grid_w / self.pool_size)

    def _encode_chunk(self, frames: torch.Tensor) -> torch.Tensor:
        height, width = frames.shape[-2:]
        kwargs = dict(output_hidden_states=True, return_dict=True)
        if (height, width) != (self.image_size, self.image_size):
            kwargs['interpolate_pos_encoding'] = True
        outputs = self.model(pixel_values=frames, **kwargs)
        tokens = outputs.hidden_states[self.select_layer]
        grid = (height // self.patch_size, width // self.patch_size)
        num_patches = grid[0] * grid[1]
        drop = self.drop_cls
        if drop == 'auto':
            drop = tokens.shape[1] == num_patches + 1
        if drop:
            tokens = tokens[:, 1:]
        if tokens.shape[1] != num_patches:
            raise ValueError(f'the vision model gave {tokens.shape[1]} tokens for a '
                             f'{grid[0]}x{grid[1]} patch grid (drop_cls={self.drop_cls})')
        return pool_frame_tokens(tokens, grid, self.pool_size, self.pool_mode)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Encode frames.

        Args:
            frames: ``(N, 3, H, W)`` normalised frames (any batch of frames).

        Returns:
            ``(N, P, C)`` tokens per frame, ``P = num_tokens_per_frame(H, W)``,
            ``C = out_channels``.
        """
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f'frames must be (N, 3, H, W), got {tuple(frames.shape)}')
        dtype = next(self.model.parameters()).dtype
        frames = frames.to(dtype)
        grad = torch.is_grad_enabled() and not self.frozen
        with torch.set_grad_enabled(grad):
            chunks = [self._encode_chunk(chunk)
                      for chunk in frames.split(self.chunk_size, dim=0)]
        return torch.cat(chunks, dim=0)
