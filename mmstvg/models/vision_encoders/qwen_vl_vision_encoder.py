"""The vision tower of Qwen2.5-VL or Qwen3-VL (2-frame patches, merger) as a part."""
import json
import os.path as osp
from typing import List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModule

from mmstvg.models.llm_backbones.hf_causal_lm import resolve_dtype
from mmstvg.registry import VISION_ENCODERS

__all__ = ['QwenVLVisionEncoder', 'patchify_frames']

#: Prefixes of the tower's tensors in a saved ``*ForConditionalGeneration``.
_TOWER_PREFIXES = ('model.visual.', 'visual.')


def patchify_frames(frames: torch.Tensor, patch_size: int, merge_size: int,
                    temporal_patch_size: int, repeat: bool) -> torch.Tensor:
    """Frames -> the tower's flat patch rows, in Qwen's processor order.

    Args:
        frames: ``(N, C, H, W)``; ``H`` and ``W`` multiples of
            ``patch_size * merge_size``.
        patch_size: spatial patch size (14 for Qwen2.5-VL, 16 for Qwen3-VL).
        merge_size: the merger's window (2).
        temporal_patch_size: frames per temporal patch (2).
        repeat: each frame fills a temporal patch alone (Qwen's still-image
            rule, one token grid per frame); False: consecutive frames are
            paired (Qwen's video rule, ``N`` a multiple of
            ``temporal_patch_size``).

    Returns:
        ``(groups * gh * gw, C * temporal_patch_size * patch_size ** 2)`` rows,
        ``groups = N`` (repeat) or ``N // temporal_patch_size``.
    """
    num, channels, height, width = frames.shape
    stride = patch_size * merge_size
    if height % stride or width % stride:
        raise ValueError(f'frame size {height}x{width} must be a multiple of {stride} '
                         '(patch_size * spatial_merge_size); resize the frames to it')
    if repeat:
        frames = frames[:, None].expand(-1, temporal_patch_size, -1, -1, -1)
    else:
        if num % temporal_patch_size:
            raise ValueError(f'{num} frames do not pair into temporal patches of '
                             f'{temporal_patch_size}')
        frames = frames.reshape(num // temporal_patch_size, temporal_patch_size, channels,
                                height, width)
    groups = frames.shape[0]
    gh, gw = height // patch_size, width // patch_size
    patches = frames.reshape(groups, temporal_patch_size, channels, gh // merge_size,
                             merge_size, patch_size, gw // merge_size, merge_size, patch_size)
    # (group, h/m, w/m, m, m, channel, time, patch, patch): the processor's order
    patches = patches.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return patches.reshape(groups * gh * gw,
                           channels * temporal_patch_size * patch_size * patch_size)


@VISION_ENCODERS.register_module()
class QwenVLVisionEncoder(BaseModule):
    """The vision tower of a Qwen2.5-VL or Qwen3-VL checkpoint: frames -> merged tokens.

    Runs transformers' own tower (dynamic resolution; Qwen2.5-VL's window
    attention, Qwen3-VL's interpolated position embeddings; the temporal patch
    of ``temporal_patch_size`` frames and the 2x2 merger that projects to the
    LLM width), so the grounder's projector is an :class:`IdentityProjector`.
    ``temporal_patching`` says how frames fill the tower's temporal patches:

    - ``'video'`` (the default, the base model's own input): consecutive
      frames are paired into one temporal patch, as Qwen's video processor
      does, so ``T`` frames give ``T / 2`` token grids. The grounder pads an
      odd count with a copy of the last frame first, as the processor does
      (:attr:`frames_per_patch` tells it how many frames a patch holds).
    - ``'frame'`` (mmstvg's earlier layout): each frame fills a temporal
      patch on its own (the frame repeated, Qwen's rule for a still image),
      one token grid a frame: twice the tokens, a layout the base model saw
      for images only.

    Qwen3-VL's tower also gives *DeepStack* features: the merged states of a
    few of its layers (``vision_config.deepstack_visual_indexes``), which the
    LLM adds to its visual tokens' states after its first layers.
    ``forward(frames, return_deepstack=True)`` returns them beside the tokens
    (:attr:`num_deepstack_layers` of them; 0 for Qwen2.5-VL).

    Args:
        pretrained_model_name_or_path: a local
            ``Qwen2_5_VLForConditionalGeneration`` /
            ``Qwen3VLForConditionalGeneration`` ``save_pretrained`` directory;
            only the tower's tensors (``visual.*`` / ``model.visual.*``) are
            read, from safetensors (nothing is unpickled).
        vision_config: alternatively a vision config dict (random weights;
            ``model_type`` ``'qwen2_5_vl_vision'`` by default, or
            ``'qwen3_vl_vision'``).
        dtype: parameter dtype of the tower.
        chunk_size: frames per forward pass of the tower (rounded down to
            whole temporal patches).
        temporal_patching: ``'video'`` (frames paired) or ``'frame'`` (one
            temporal patch a frame), see above.
        freeze: freeze the tower (its forward then runs without autograd).
        init_cfg: MMEngine init config (the HF weights are not re-initialised).
    """

    @staticmethod
    def tower_config(pretrained_model_name_or_path: Optional[str] = None,
                     vision_config: Optional[dict] = None):
        """The tower's transformers config, from a checkpoint directory or a dict."""
        from transformers import AutoConfig
        if (pretrained_model_name_or_path is None) == (vision_config is None):
            raise ValueError('QwenVLVisionEncoder needs exactly one of '
                             'pretrained_model_name_or_path and vision_config')
        if pretrained_model_name_or_path is not None:
            return AutoConfig.from_pretrained(pretrained_model_name_or_path).vision_config
        cfg = dict(vision_config)
        return AutoConfig.for_model(cfg.pop('model_type', 'qwen2_5_vl_vision'), **cfg)

    @classmethod
    def config_frames_per_patch(cls, cfg: dict, config=None) -> int:
        """:attr:`frames_per_patch` of the encoder ``cfg`` builds, without building it
        (the prompt's tokenizer transform needs it: one time stamp a token grid)."""
        if cfg.get('temporal_patching', 'video') != 'video':
            return 1
        if config is None:
            config = cls.tower_config(cfg.get('pretrained_model_name_or_path'),
                                      cfg.get('vision_config'))
        return int(config.temporal_patch_size)

    def __init__(self,
                 pretrained_model_name_or_path: Optional[str] = None,
                 vision_config: Optional[dict] = None,
                 dtype: Union[str, torch.dtype, None] = None,
                 chunk_size: int = 16,
                 freeze: bool = True,
                 temporal_patching: str = 'video',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if temporal_patching not in ('video', 'frame'):
            raise ValueError(f"temporal_patching must be 'video' (frames paired, the base "
                             f"model's input) or 'frame' (one temporal patch a frame), got "
                             f'{temporal_patching!r}')
        from transformers.models.auto.modeling_auto import MODEL_MAPPING
        config = self.tower_config(pretrained_model_name_or_path, vision_config)
        self.model = MODEL_MAPPING[type(config)]._from_config(config)
        if pretrained_model_name_or_path is not None:
            self._load_tower(pretrained_model_name_or_path)
        torch_dtype = resolve_dtype(dtype)
        if torch_dtype is not None:
            self.model.to(torch_dtype)
        self.merge_size = int(config.spatial_merge_size)
        self.vit_patch_size = int(config.patch_size)
        self.temporal_patch_size = int(config.temporal_patch_size)
        #: pixels per merged token along each side
        self.patch_size = self.vit_patch_size * self.merge_size
        self.out_channels = int(config.out_hidden_size)
        #: DeepStack feature levels the tower gives (Qwen3-VL; 0 for Qwen2.5-VL)
        self.num_deepstack_layers = len(getattr(config, 'deepstack_visual_indexes', None) or ())
        self.temporal_patching = temporal_patching
        #: frames in one token grid: the grounder pads each video to a multiple
        self.frames_per_patch = self.config_frames_per_patch(
            dict(temporal_patching=temporal_patching), config)
        #: every video keeps its own frame size (smart_resize); frames padded
        #: in a batch would become tokens
        self.dynamic_resolution = True
        self.chunk_size = max(chunk_size // self.frames_per_patch, 1) * self.frames_per_patch
        self.frozen = freeze
        if freeze:
            self.model.requires_grad_(False)

    def _load_tower(self, directory: str) -> None:
        """Read the tower's tensors from the checkpoint's safetensors shards."""
        from safetensors import safe_open
        index = osp.join(directory, 'model.safetensors.index.json')
        if osp.exists(index):
            with open(index) as f:
                files = sorted(set(json.load(f)['weight_map'].values()))
        elif osp.exists(osp.join(directory, 'model.safetensors')):
            files = ['model.safetensors']
        else:
            raise FileNotFoundError(f'{directory}: no model.safetensors(.index.json); '
                                    'pickled checkpoints are not read')
        own = self.model.state_dict()
        loaded = set()
        for name in files:
            with safe_open(osp.join(directory, name), 'pt') as f:
                for key in f.keys():
                    prefix = next((p for p in _TOWER_PREFIXES if key.startswith(p)), None)
                    if prefix is None:
                        continue
                    target = key[len(prefix):]
                    if target not in own:
                        raise KeyError(f'{directory}/{name}: tensor {key!r} has no place '
                                       'in the vision tower')
                    tensor = f.get_tensor(key)
                    if tensor.shape != own[target].shape:
                        raise ValueError(f'{directory}/{name}: {key!r} has shape '
                                         f'{tuple(tensor.shape)}, the tower expects '
                                         f'{tuple(own[target].shape)}')
                    own[target].copy_(tensor)
                    loaded.add(target)
        missing = sorted(set(own) - loaded)
        if missing:
            raise KeyError(f'{directory}: vision tower tensors missing: {missing[:5]}')

    def init_weights(self) -> None:
        """Keep the pretrained (or config-initialised) Hugging Face weights."""
        self._is_init = True

    def token_grid(self, height: int, width: int):
        """The merged token grid ``(rows, cols)`` of a ``height x width`` frame."""
        return height // self.patch_size, width // self.patch_size

    def num_tokens_per_frame(self, height: int, width: int) -> int:
        rows, cols = self.token_grid(height, width)
        return rows * cols

    def _run(self, frames: torch.Tensor, repeat: bool
             ) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Tokens ``(groups, P, C)`` and the DeepStack levels, each ``(groups, P, C)``."""
        dtype = next(self.model.parameters()).dtype
        rows = patchify_frames(frames.to(dtype), self.vit_patch_size, self.merge_size,
                               self.temporal_patch_size, repeat)
        groups = frames.shape[0] if repeat else frames.shape[0] // self.temporal_patch_size
        gh, gw = frames.shape[-2] // self.vit_patch_size, frames.shape[-1] // self.vit_patch_size
        grid_thw = torch.tensor([[1, gh, gw]] * groups, device=frames.device)
        output = self.model(rows, grid_thw=grid_thw)
        merged = output.pooler_output
        deepstack = [level.reshape(groups, -1, level.shape[-1])
                     for level in (getattr(output, 'deepstack_features', None) or ())]
        return merged.reshape(groups, -1, merged.shape[-1]), deepstack

    def forward(self, frames: torch.Tensor, return_deepstack: bool = False
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """Encode frames into one token grid per temporal patch.

        Args:
            frames: ``(N, 3, H, W)`` normalised frames (the checkpoint's
                mean / std: CLIP's for Qwen2.5-VL, 0.5 for Qwen3-VL); with
                ``temporal_patching='video'`` ``N`` is a multiple of
                :attr:`frames_per_patch` and frames ``2g, 2g + 1`` form patch
                ``g`` (pad a video of odd length first).
            return_deepstack: also return the DeepStack features.

        Returns:
            ``(G, P, out_channels)``, ``G = N / frames_per_patch``,
            ``P = num_tokens_per_frame(H, W)``; with ``return_deepstack``
            also ``(num_deepstack_layers, G, P, out_channels)`` (an empty
            first axis for a tower without them).
        """
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f'frames must be (N, 3, H, W), got {tuple(frames.shape)}')
        grad = torch.is_grad_enabled() and not self.frozen
        with torch.set_grad_enabled(grad):
            repeat = self.frames_per_patch == 1
            runs = [self._run(chunk, repeat=repeat)
                    for chunk in frames.split(self.chunk_size, dim=0)]
            tokens = torch.cat([run[0] for run in runs])
            if not return_deepstack:
                return tokens
            if self.num_deepstack_layers == 0:
                return tokens, tokens.new_zeros((0, *tokens.shape))
            deepstack = torch.stack([torch.cat([run[1][level] for run in runs])
                                     for level in range(self.num_deepstack_layers)])
            return tokens, deepstack

    def encode_video(self, frames: torch.Tensor) -> torch.Tensor:
        """Qwen's video rule: consecutive frames paired into temporal patches.

        Args:
            frames: ``(T, 3, H, W)``, ``T`` a multiple of ``temporal_patch_size``.

        Returns:
            ``(T // temporal_patch_size, P, out_channels)``.
        """
        return self._run(frames, repeat=False)[0]
