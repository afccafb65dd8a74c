"""Per-frame "inside the span" scores read from one state per frame alone.

Ours, not the paper's: a DETR-style score beside each box that gives the
boxes a confidence and the frame states a dense temporal signal (rationale:
``docs/en/model_core.md``). A grounder without it is the paper's model.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.models.layers import MLP
from mmengine.model import BaseModule
from torch import nn

from mmstvg.models.language.answer_coder_table import spans_whole_input
from mmstvg.models.space_decoders.head_structures import HeadInputs
from mmstvg.registry import MODELS
from mmstvg.structures import frames_in_span

__all__ = ['QuerySpanScoreHead', 'span_targets']


def span_targets(data_samples: Sequence, max_frames: int,
                 device: Optional[torch.device] = None):
    """Per sampled frame: inside the ground-truth span, and real (not padding).

    A sample's in-span frames are its sampled frames inside ``gt_span_frames``
    (half-open, original frame indices); a REC image (one frame) is inside.

    Args:
        data_samples: the batch's ``GroundingDataSample`` s.
        max_frames: ``T_max`` of the batch.
        device: device of the returned tensors.

    Returns:
        ``(targets, valid)``: ``(B, T_max)`` float in {0, 1} and bool. Samples
        with neither ``gt_span_frames`` nor a whole-input span (an image,
        :func:`spans_whole_input`) have no valid frame.
    """
    targets = torch.zeros(len(data_samples), max_frames, device=device)
    valid = torch.zeros(len(data_samples), max_frames, dtype=torch.bool, device=device)
    for b, sample in enumerate(data_samples):
        meta = sample.metainfo
        num = sample.num_sampled_frames if 'frame_inds' in meta else 1
        if spans_whole_input(sample):
            inside = np.ones(num, dtype=bool)
        elif 'gt_span_frames' in sample:
            span = sample.gt_span_frames.tolist()
            inside = frames_in_span(np.asarray(meta['frame_inds']), (span[0], span[1]))
        else:
            continue
        targets[b, :num] = torch.from_numpy(inside.astype(np.float32)).to(device)
        valid[b, :num] = True
    return targets, valid


@MODELS.register_module()
class QuerySpanScoreHead(BaseModule):
    """An MLP on each frame's state (``head_inputs.query``): the logit of
    "frame inside the span".

    Ours, not the paper's (see the module docstring). :meth:`loss` trains it
    on every sampled frame; :meth:`predict` gives the boxes their scores.

    Args:
        hidden_dim: size of the LLM hidden states (the grounder fills it with
            the LLM's hidden size unless the config gives it).
        num_layers: linear layers of the MLP.
        temporal_kernel: frames each score reads. 1: its own frame's state
            alone. An odd ``k > 1``: first a residual 1-D convolution over
            time (``k`` frames centred on each, GELU), so a frame's score can
            see what changed around it (a target that starts to move); the
            padding frames of a batch are zeroed before it, so a sample's
            scores do not depend on its batch.
        loss: config of the loss, mmdet's sigmoid ``CrossEntropyLoss`` by
            default; it is averaged over the real sampled frames.
        init_cfg: MMEngine initialisation config.
    """

    #: The grounder's attribute (and state-dict prefix) of this head.
    module_name = 'frame_score_head'

    def __init__(self,
                 hidden_dim: int,
                 num_layers: int = 2,
                 temporal_kernel: int = 1,
                 loss: dict = dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True,
                                   loss_weight=1.0),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ValueError(f'temporal_kernel must be odd and >= 1, got {temporal_kernel}')
        self.hidden_dim = hidden_dim
        self.temporal = (None if temporal_kernel == 1 else nn.Conv1d(
            hidden_dim, hidden_dim, temporal_kernel, padding=temporal_kernel // 2))
        self.mlp = MLP(hidden_dim, hidden_dim, 1, num_layers)
        self.loss_span_score = MODELS.build(loss)

    def forward(self, head_inputs: HeadInputs) -> torch.Tensor:
        """``head_inputs.query`` ``(B, T, D)`` -> ``(B, T)`` logits (float32);
        ``frame_mask`` is read with a ``temporal_kernel`` above 1, the other
        fields are not read."""
        query_states = head_inputs.query
        if query_states.dim() != 3 or query_states.shape[-1] != self.hidden_dim:
            raise ValueError(f'{type(self).__name__}: query_states must be (B, T, '
                             f'{self.hidden_dim}), got {tuple(query_states.shape)}')
        dtype = self.mlp.layers[0].weight.dtype
        states = query_states.to(dtype)
        if self.temporal is not None:
            mask = head_inputs.frame_mask
            if mask is not None:
                states = states * mask[..., None].to(dtype)
            context = F.gelu(self.temporal(states.transpose(1, 2))).transpose(1, 2)
            states = states + context
        return self.mlp(states).squeeze(-1).float()

    def loss(self, logits: torch.Tensor,
             data_samples: Sequence) -> Dict[str, torch.Tensor]:
        """Sigmoid cross-entropy against the samples' spans (:func:`span_targets`).

        Args:
            logits: ``(B, T)`` from :meth:`forward`.
            data_samples: the batch's samples.
        """
        targets, valid = span_targets(data_samples, logits.shape[1], logits.device)
        return self.loss_by_targets(logits, targets, valid)

    def loss_by_targets(self, logits: torch.Tensor, targets: torch.Tensor,
                        valid: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Sigmoid cross-entropy on the real frames.

        Args:
            logits: ``(B, T)`` from :meth:`forward`.
            targets: ``(B, T)`` 1 inside the span, 0 outside.
            valid: ``(B, T)`` bool, the real sampled frames.

        Returns:
            ``dict(loss_span_score=...)``. With no valid frame the loss module
            still runs, with zero weights: exactly 0, every gradient 0, and
            the same module calls on every ZeRO-3 rank.
        """
        valid = valid.bool()
        num = int(valid.sum())
        if num:
            logits, targets, weight = logits[valid], targets[valid].float(), None
        else:
            logits = logits.flatten()
            targets, weight = logits.detach().sigmoid(), logits.new_zeros(logits.shape)
        loss = self.loss_span_score(logits, targets, weight=weight, avg_factor=max(num, 1))
        return dict(loss_span_score=loss)

    def predict(self, logits: torch.Tensor, data_samples: Sequence) -> None:
        """Score each sample's predicted boxes: ``pred_box_scores`` is the sigmoid
        of its frames' logits (samples without ``pred_boxes`` are left alone).

        Args:
            logits: ``(B, T)`` from :meth:`forward`, one row a sample of
                ``data_samples``.
            data_samples: the samples, after a box head's ``predict``.
        """
        for row, sample in zip(logits, data_samples):
            if 'pred_boxes' in sample:
                num = sample.num_sampled_frames
                sample.pred_box_scores = row.sigmoid()[:num].float().cpu()
