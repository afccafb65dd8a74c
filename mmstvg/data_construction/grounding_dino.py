"""Phrase detectors: mmdet's Grounding-DINO on a video's sampled frames.

:class:`GroundingDINODetector` builds ``mmdet.models.GroundingDINO`` from an
mmdet config (a file path or ``mmdet::grounding_dino/...``), points its BERT
text encoder at a local directory (``language_model.name``, which mmdet
passes to ``AutoTokenizer`` / ``BertModel.from_pretrained``), loads the
detector's weights without unpickling objects, and runs frames in batches on
any device.

mmdet 3.3's ``BertModel`` was written for transformers 4; two of its calls
no longer work with transformers 5, and :func:`adapt_mmdet_bert_to_transformers5`
adapts the built model in place (see there).
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmstvg.registry import GROUNDING_DETECTORS
from .sample import FrameDetections

__all__ = ['BaseGroundingDetector', 'GroundingDINODetector', 'resolve_mmdet_config',
           'adapt_mmdet_bert_to_transformers5', 'load_detector_weights']


class BaseGroundingDetector:
    """Boxes of a phrase on frames.

    Attributes:
        score_thr: detections scored below it are discarded.
    """

    score_thr = 0.0

    def detect(self, frames: Sequence[np.ndarray], phrase: str) -> List[FrameDetections]:
        """Detect ``phrase`` on each frame.

        Args:
            frames: RGB ``uint8`` arrays ``(H, W, 3)`` of one video.
            phrase: the object to find.

        Returns:
            One :class:`FrameDetections` per frame (absolute-pixel ``xyxy``
            boxes of the original frame, score >= :attr:`score_thr`, best
            first).
        """
        raise NotImplementedError


def resolve_mmdet_config(config: str) -> str:
    """The file of an mmdet config given as a path or ``mmdet::rel/path.py``."""
    if config.startswith('mmdet::'):
        import mmdet
        path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs',
                        config[len('mmdet::'):])
    else:
        path = osp.expanduser(config)
    if not osp.isfile(path):
        raise FileNotFoundError(f'detector config {config!r}: no file {path}')
    return path


class _BatchEncodePlusTokenizer:
    """A tokenizer that also answers ``batch_encode_plus`` (removed in transformers 5)."""

    def __init__(self, tokenizer):
        self._tokenizer = tokenizer

    def __getattr__(self, name):
        return getattr(self._tokenizer, name)

    def __call__(self, *args, **kwargs):
        return self._tokenizer(*args, **kwargs)

    def batch_encode_plus(self, *args, **kwargs):
        return self._tokenizer(*args, **kwargs)


def _extend_sub_sentence_mask(module, args, kwargs):
    """A 3-D ``(B, L, L)`` 0/1 mask -> the additive 4-D mask of transformers 4."""
    import torch
    mask = kwargs.get('attention_mask')
    if mask is not None and mask.dim() == 3:
        dtype = module.dtype
        kwargs['attention_mask'] = (1.0 - mask[:, None].to(dtype)) * torch.finfo(dtype).min
    return args, kwargs


def adapt_mmdet_bert_to_transformers5(model) -> bool:
    """Make mmdet 3.3's ``BertModel`` language model run under transformers 5.

    It changes nothing of the weights or the state dict:

    1. mmdet calls ``tokenizer.batch_encode_plus``, which transformers 5
       removed; the tokenizer is wrapped so that call goes to
       ``tokenizer(...)`` (same arguments, same result).
    2. With ``use_sub_sentence_represent`` mmdet passes a 3-D ``(B, L, L)``
       mask (tokens attend within their phrase). transformers 4's BERT
       turned it into the additive ``(B, 1, L, L)`` mask; transformers 5 only
       expands 2-D masks and passes 4-D ones through, so a forward pre-hook
       on the HF ``BertModel`` does that conversion.

    Args:
        model: a built ``mmdet.models.GroundingDINO`` (or any model with a
            ``language_model`` of mmdet's ``BertModel`` type).

    Returns:
        Whether anything was adapted (False for other language models).
    """
    language_model = getattr(model, 'language_model', None)
    if language_model is None or not hasattr(language_model, 'language_backbone'):
        return False
    tokenizer = language_model.tokenizer
    if not hasattr(tokenizer, 'batch_encode_plus') or isinstance(
            tokenizer, _BatchEncodePlusTokenizer):
        language_model.tokenizer = _BatchEncodePlusTokenizer(tokenizer)
    hf_bert = language_model.language_backbone.body.model
    if not getattr(hf_bert, '_mmstvg_mask_hook', False):
        hf_bert.register_forward_pre_hook(_extend_sub_sentence_mask, with_kwargs=True)
        hf_bert._mmstvg_mask_hook = True
    return True


def load_detector_weights(model, checkpoint: str, logger=None) -> Tuple[list, list]:
    """Load a detector checkpoint without unpickling objects.

    ``.safetensors`` files load with safetensors, others with
    ``torch.load(weights_only=True)``; an MMEngine checkpoint's
    ``state_dict`` (or a ``model`` entry) is used when present, and a
    ``module.`` prefix is removed.

    Args:
        model: the built detector.
        checkpoint: the file.
        logger: an MMEngine logger for the key report.

    Returns:
        ``(missing_keys, unexpected_keys)``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file holds objects other than tensors and plain
            containers, no state dict, or none of the detector's keys.
    """
    import torch
    path = osp.expanduser(checkpoint)
    if not osp.isfile(path):
        raise FileNotFoundError(f'detector checkpoint {checkpoint}: no such file')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        state = load_file(path)
    else:
        try:
            state = torch.load(path, map_location='cpu', weights_only=True)
        except Exception as error:  # an UnpicklingError names the object
            raise ValueError(
                f'{checkpoint}: not loadable with weights_only=True ({error}); save its '
                'state_dict alone (torch.save(ckpt["state_dict"], ...)) from a trusted '
                'copy') from error
    if isinstance(state, dict):
        for key in ('state_dict', 'model'):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not state:
        raise ValueError(f'{checkpoint}: no state dict in the file')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    expected = model.state_dict()
    if not any(k in expected for k in state):
        # strict=False would load nothing and detect with random weights
        raise ValueError(
            f'{checkpoint}: none of its {len(state)} keys is a key of the detector built '
            f'from the config (its first: {sorted(map(str, state))[:3]}; the '
            f"detector's: {sorted(expected)[:3]}): nothing would load, and every box "
            'would come from random weights. Is it a checkpoint of this detector config?')
    result = model.load_state_dict(state, strict=False)
    if logger is not None and (result.missing_keys or result.unexpected_keys):
        logger.warning(f'{checkpoint}: {len(result.missing_keys)} missing keys '
                       f'{result.missing_keys[:5]}, {len(result.unexpected_keys)} '
                       f'unexpected keys {result.unexpected_keys[:5]}')
    return list(result.missing_keys), list(result.unexpected_keys)


@GROUNDING_DETECTORS.register_module()
class GroundingDINODetector(BaseGroundingDetector):
    """mmdet's Grounding-DINO, one phrase over a batch of frames.

    Each frame is converted to BGR (mmdet's image order; the model's
    preprocessor converts back), resized keeping its aspect ratio to fit
    ``scale`` (mmdet's ``FixScaleResize(scale=(800, 1333), keep_ratio=True)``
    of the Grounding-DINO test pipeline, here with OpenCV's bilinear resize),
    and ``batch_size`` frames go through ``model.test_step`` at once with the
    phrase as one entity. Boxes come back in the original frame's pixels.

    Args:
        config: the mmdet config (path or ``mmdet::grounding_dino/...``).
        checkpoint: the detector's weights (``.pth`` state dict or MMEngine
            checkpoint, or ``.safetensors``); ``None`` keeps the random
            initialisation (tests only).
        text_encoder_path: a local BERT directory (``bert-base-uncased``
            saved with ``save_pretrained``); sets
            ``model.language_model.name``. ``None`` keeps the config's.
        score_thr: the lowest kept score (recipe: 0.3).
        batch_size: frames per forward pass.
        scale: ``(short, long)`` edges the frames are resized to fit.
        device: ``'auto'`` (CUDA when available, else CPU) or a device.
        cfg_options: overrides merged into the mmdet config (dotted keys).
    """

    def __init__(self, config: str, checkpoint: Optional[str] = None,
                 text_encoder_path: Optional[str] = None, score_thr: float = 0.3,
                 batch_size: int = 8, scale: Tuple[int, int] = (800, 1333),
                 device: str = 'auto', cfg_options: Optional[dict] = None):
        import torch
        from mmengine.config import Config
        from mmengine.logging import MMLogger
        from mmengine.registry import DefaultScope
        from mmdet.registry import MODELS as MMDET_MODELS
        from mmdet.utils import register_all_modules

        register_all_modules(init_default_scope=False)
        cfg = Config.fromfile(resolve_mmdet_config(config))
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if text_encoder_path is not None:
            cfg.model.language_model.name = text_encoder_path
        if cfg.model.get('type') != 'GroundingDINO':
            raise ValueError(f'{config}: model.type is {cfg.model.get("type")!r}, '
                             'expected GroundingDINO')
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = MMDET_MODELS.build(cfg.model)
        if checkpoint is not None:
            load_detector_weights(model, checkpoint, MMLogger.get_current_instance())
        else:
            model.init_weights()
        adapt_mmdet_bert_to_transformers5(model)
        if device == 'auto':
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.score_thr = float(score_thr)
        self.batch_size = int(batch_size)
        self.scale = tuple(int(s) for s in scale)

    def _prepare(self, frame: np.ndarray):
        import mmcv
        import torch
        from mmdet.structures import DetDataSample
        height, width = frame.shape[:2]
        image = np.ascontiguousarray(frame[..., ::-1])  # RGB -> BGR
        image, _ = mmcv.imrescale(image, self.scale, return_scale=True,
                                  interpolation='bilinear', backend='cv2')
        new_h, new_w = image.shape[:2]
        sample = DetDataSample(metainfo=dict(
            ori_shape=(height, width), img_shape=(new_h, new_w),
            scale_factor=(new_w / width, new_h / height)))
        return torch.from_numpy(image).permute(2, 0, 1).contiguous(), sample

    def detect(self, frames: Sequence[np.ndarray], phrase: str) -> List[FrameDetections]:
        import torch
        phrase = ' '.join(phrase.replace('.', ' ').split())
        if not phrase:
            raise ValueError('empty phrase')
        results: List[FrameDetections] = []
        for start in range(0, len(frames), self.batch_size):
            inputs, samples = [], []
            for frame in frames[start:start + self.batch_size]:
                tensor, sample = self._prepare(frame)
                sample.set_metainfo(dict(text=[phrase], custom_entities=True))
                inputs.append(tensor)
                samples.append(sample)
            with torch.no_grad():
                outputs = self.model.test_step(dict(inputs=inputs, data_samples=samples))
            for output in outputs:
                pred = output.pred_instances
                scores = pred.scores.float().cpu().numpy()
                boxes = pred.bboxes.float().cpu().numpy()
                keep = scores >= self.score_thr
                results.append(FrameDetections(boxes[keep], scores[keep]))
        return results
