"""Linear probes of token states: closed-form ridge, R², ROC-AUC and grid targets.

The numbers behind ``tools/analysis_tools/probe_token_positions.py``: the
targets of a frame's ``rows x cols`` token grid (each cell's centre, whether
it overlaps a box), a ridge regression fitted from streamed moments (the
training tokens need not fit in memory at once), and its held-out scores.
"""
from typing import NamedTuple, Union

import numpy as np
import torch

__all__ = [
    'grid_token_indices', 'cell_centres', 'cell_box_overlap', 'RidgeModel',
    'StreamingRidge', 'ridge_fit', 'r2_score', 'roc_auc'
]

ArrayLike = Union[np.ndarray, torch.Tensor]


def grid_token_indices(num_tokens: int, rows: int, cols: int) -> np.ndarray:
    """Which of a frame's ``num_tokens`` visual tokens are its grid cells.

    The layouts the grounders give a frame (LLaVA-Video's
    :class:`~mmstvg.models.vision_encoders.LlavaFeaturePooler`):

    - ``rows * cols``: the row-major grid, every token a cell;
    - ``rows * (cols + 1)``: a newline token after each row
      (``newline='grid'``), the last token of each row is dropped;
    - ``rows * cols + 1``: one newline token after the frame
      (``newline='frame'``), the last token is dropped.

    Args:
        num_tokens: ``P``, the frame's visual tokens.
        rows: grid rows.
        cols: grid columns.

    Returns:
        ``(rows * cols,)`` int64 indices into the ``P`` tokens, row-major.

    Raises:
        ValueError: ``P`` fits none of the layouts.
    """
    rows, cols = int(rows), int(cols)
    if rows < 1 or cols < 1:
        raise ValueError(f'a token grid needs rows, cols >= 1, got {rows}x{cols}')
    cells = np.arange(rows * cols, dtype=np.int64)
    if num_tokens == rows * cols:
        return cells
    if num_tokens == rows * (cols + 1):
        return (cells // cols) * (cols + 1) + cells % cols
    if num_tokens == rows * cols + 1:
        return cells
    raise ValueError(f'{num_tokens} visual tokens per frame fit no known layout of a '
                     f'{rows}x{cols} grid: {rows * cols} (grid), {rows * (cols + 1)} '
                     f'(a newline after each row) or {rows * cols + 1} (a newline '
                     'after the frame)')


def cell_centres(rows: int, cols: int) -> np.ndarray:
    """Normalised ``(x, y)`` centres of a ``rows x cols`` grid's cells, row-major.

    The grid divides the frame evenly: cell ``(r, c)`` spans
    ``[c / cols, (c + 1) / cols] x [r / rows, (r + 1) / rows]``.

    Returns:
        ``(rows * cols, 2)`` float64.
    """
    ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing='ij')
    return np.stack([(xs.ravel() + 0.5) / cols, (ys.ravel() + 0.5) / rows], axis=-1)


def cell_box_overlap(rows: int, cols: int, boxes: ArrayLike) -> np.ndarray:
    """Whether each grid cell overlaps each box (an intersection of positive area).

    Args:
        rows: grid rows.
        cols: grid columns.
        boxes: ``(F, 4)`` (or ``(4,)``) normalised ``xyxy`` boxes on the frame
            the grid divides evenly (see :func:`cell_centres`). A cell that
            only touches a box's edge does not overlap it.

    Returns:
        ``(F, rows * cols)`` bool (``(rows * cols,)`` for one box).
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    single = boxes.ndim == 1
    boxes = boxes.reshape(-1, 4)
    ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing='ij')
    x1, x2 = xs.ravel() / cols, (xs.ravel() + 1) / cols
    y1, y2 = ys.ravel() / rows, (ys.ravel() + 1) / rows
    width = np.minimum(x2[None], boxes[:, 2:3]) - np.maximum(x1[None], boxes[:, 0:1])
    height = np.minimum(y2[None], boxes[:, 3:4]) - np.maximum(y1[None], boxes[:, 1:2])
    overlap = (width > 0) & (height > 0)
    return overlap[0] if single else overlap


class RidgeModel(NamedTuple):
    """A fitted ridge regression on standardised features.

    ``predict(x) = intercept + ((x - mean) / scale) @ coef``.
    """
    mean: torch.Tensor  # (D,) float64
    scale: torch.Tensor  # (D,) float64, 1 where a feature is constant
    coef: torch.Tensor  # (D, K) float64
    intercept: torch.Tensor  # (K,) float64

    def predict(self, x: ArrayLike) -> np.ndarray:
        """``(N, K)`` float64 predictions for ``(N, D)`` features."""
        x = torch.as_tensor(x).to(self.coef.device, torch.float64)
        pred = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return pred.cpu().numpy()


class StreamingRidge:
    """Ridge regression fitted in closed form from moments summed over batches.

    Features are standardised with the training tokens' mean and standard
    deviation and the intercept is not penalised; the coefficients on the
    standardised features solve ``(Z'Z + alpha * n * I) w = Z'(y - mean(y))``
    (``n`` training rows), so ``alpha`` is relative to each feature's unit
    variance. The sums are float64 on the device of the first batch.
    """

    def __init__(self):
        self.num = 0
        self.sum_x = self.sum_xx = self.sum_y = self.sum_xy = None

    def update(self, x: ArrayLike, y: ArrayLike) -> 'StreamingRidge':
        """Add rows: ``x`` ``(N, D)`` features, ``y`` ``(N, K)`` (or ``(N,)``) targets."""
        device = self.sum_x.device if self.sum_x is not None else (
            x.device if isinstance(x, torch.Tensor) else 'cpu')
        x = torch.as_tensor(x).to(device, torch.float64)
        y = torch.as_tensor(y).to(device, torch.float64)
        if y.dim() == 1:
            y = y[:, None]
        if x.dim() != 2 or y.dim() != 2 or x.shape[0] != y.shape[0]:
            raise ValueError(f'x must be (N, D) and y (N, K), got {tuple(x.shape)} '
                             f'and {tuple(y.shape)}')
        if self.sum_x is None:
            dim, out = x.shape[1], y.shape[1]
            self.sum_x = x.new_zeros(dim)
            self.sum_xx = x.new_zeros(dim, dim)
            self.sum_y = x.new_zeros(out)
            self.sum_xy = x.new_zeros(dim, out)
        self.num += x.shape[0]
        self.sum_x += x.sum(0)
        self.sum_xx += x.T @ x
        self.sum_y += y.sum(0)
        self.sum_xy += x.T @ y
        return self

    def fit(self, alpha: float = 1e-2) -> RidgeModel:
        """Solve for the coefficients (``alpha >= 0``; 0 needs independent varying features)."""
        if self.num < 2:
            raise ValueError(f'a ridge fit needs at least 2 rows, got {self.num}')
        num = self.num
        mean = self.sum_x / num
        mean_y = self.sum_y / num
        centred_xx = self.sum_xx - num * torch.outer(mean, mean)
        centred_xy = self.sum_xy - num * torch.outer(mean, mean_y)
        scale = (centred_xx.diagonal().clamp(min=0) / num).sqrt()
        # A feature constant up to rounding gets no coefficient (and scale 1).
        varies = scale > 1e-7 * mean.abs() + 1e-12
        scale = torch.where(varies, scale, torch.ones_like(scale))
        keep = torch.outer(varies, varies).to(torch.float64)
        gram = centred_xx / torch.outer(scale, scale) * keep
        eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        gram = gram + alpha * num * eye + torch.diag((~varies).to(torch.float64))
        rhs = centred_xy / scale[:, None] * varies[:, None]
        coef = torch.linalg.solve(gram, rhs)
        return RidgeModel(mean, scale, coef, mean_y)


def ridge_fit(x: ArrayLike, y: ArrayLike, alpha: float = 1e-2) -> RidgeModel:
    """:class:`StreamingRidge` fitted on one batch of rows."""
    return StreamingRidge().update(x, y).fit(alpha)


def r2_score(y: ArrayLike, pred: ArrayLike) -> np.ndarray:
    """Coefficient of determination ``1 - SS_res / SS_tot`` of each output.

    Args:
        y: ``(N, K)`` (or ``(N,)``) targets.
        pred: predictions of the same shape.

    Returns:
        ``(K,)`` float64 (a 0-d array for 1-D inputs); NaN for a constant
        target. It is at most 1 and unbounded below (a prediction worse than
        the targets' mean is negative).
    """
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if y.shape != pred.shape:
        raise ValueError(f'y {y.shape} and pred {pred.shape} differ')
    residual = ((y - pred) ** 2).sum(axis=0)
    total = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), np.nan)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, tied values sharing their mean rank."""
    order = np.argsort(values, kind='mergesort')
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + 1 + end) / 2
    return ranks


def roc_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Exact area under the ROC curve (Mann-Whitney U; ties count one half).

    Args:
        labels: ``(N,)`` binary labels (bool or 0 / 1).
        scores: ``(N,)`` scores, higher meaning positive.

    Returns:
        The probability that a random positive scores above a random
        negative, in [0, 1]; NaN when one class is absent.
    """
    labels = np.asarray(labels).astype(bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f'labels {labels.shape} and scores {scores.shape} differ')
    num_pos = int(labels.sum())
    num_neg = len(labels) - num_pos
    if num_pos == 0 or num_neg == 0:
        return float('nan')
    rank_sum = _average_ranks(scores)[labels].sum()
    return float((rank_sum - num_pos * (num_pos + 1) / 2) / (num_pos * num_neg))
