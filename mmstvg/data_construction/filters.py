"""The construction filters: frame rules, boundary refinement, duration rule.

Each filter is registered in :data:`~mmstvg.registry.CONSTRUCTION_FILTERS`
and named in a config's ``construction_filters`` list, run in that order. A
filter takes a :class:`~mmstvg.data_construction.sample.CandidateSample`,
may drop frames (:meth:`CandidateSample.drop_frames`, counted per rule) or
set its span, and returns ``None`` to keep the sample or a reason (a string)
to drop it. A filter with ``needs_detections = False`` runs before the
detector, so a video it drops is never decoded.

The rules follow the recipe known of SpaceVLLM's Uni-STG construction
(secondary reading; see ``docs/en/data_construction.md``).
"""
from typing import Optional

import numpy as np

from mmstvg.registry import CONSTRUCTION_FILTERS
from .sample import CandidateSample

__all__ = ['BaseConstructionFilter', 'MaxBoxesFrameFilter', 'BoxAreaJumpFrameFilter',
           'BoundaryRefinement', 'DurationFilter']


class BaseConstructionFilter:
    """A rule of the construction.

    Subclasses set :attr:`rule` (the name counted in the report; defaults to
    the ``rule`` argument so two instances of one class can be told apart)
    and implement :meth:`__call__`.

    Args:
        rule: the name of this rule in the report; ``None`` for the class's
            default.
    """

    #: The rule's default name in the report.
    default_rule = 'filter'
    #: Whether the filter reads detections (else it runs before detection).
    needs_detections = True
    #: Whether it reads the refined span (a filter that sets one must precede it).
    needs_span = False
    #: Whether it sets the span.
    sets_span = False

    def __init__(self, rule: Optional[str] = None):
        self.rule = rule or self.default_rule

    def __call__(self, sample: CandidateSample) -> Optional[str]:
        """Apply the rule.

        Args:
            sample: the candidate, changed in place.

        Returns:
            ``None`` to keep it, or why it is dropped.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f'{type(self).__name__}(rule={self.rule!r})'


@CONSTRUCTION_FILTERS.register_module()
class MaxBoxesFrameFilter(BaseConstructionFilter):
    """Drop frames where more than ``max_boxes`` boxes match the phrase.

    A frame with many boxes above the score threshold is ambiguous: the
    referred object cannot be told from the others (recipe: more than 3).

    Args:
        max_boxes: the most boxes a kept frame may have.
        rule: see :class:`BaseConstructionFilter`.
    """

    default_rule = 'max_boxes'

    def __init__(self, max_boxes: int = 3, rule: Optional[str] = None):
        super().__init__(rule)
        if max_boxes < 1:
            raise ValueError(f'max_boxes must be >= 1, got {max_boxes}')
        self.max_boxes = int(max_boxes)

    def __call__(self, sample: CandidateSample) -> Optional[str]:
        counts = np.array([len(d) for d in sample.detections], dtype=np.int64)
        sample.drop_frames(counts > self.max_boxes, self.rule)
        return None


@CONSTRUCTION_FILTERS.register_module()
class BoxAreaJumpFrameFilter(BaseConstructionFilter):
    """Drop frames whose box area jumps by more than ``max_ratio``.

    The kept frames are scanned in order; a frame is dropped when its chosen
    box's area is more than ``max_ratio`` times, or less than
    ``1 / max_ratio`` of, the area of the last frame kept before it (recipe:
    2x between neighbouring frames). Comparing with the last *kept* frame
    means a single outlier is dropped alone, while after a switch to another
    object of a different size every later frame of it is dropped. A box of
    zero area is always dropped.

    Args:
        max_ratio: the largest allowed area ratio, ``> 1``.
        rule: see :class:`BaseConstructionFilter`.
    """

    default_rule = 'area_jump'

    def __init__(self, max_ratio: float = 2.0, rule: Optional[str] = None):
        super().__init__(rule)
        if max_ratio <= 1:
            raise ValueError(f'max_ratio must be > 1, got {max_ratio}')
        self.max_ratio = float(max_ratio)

    def __call__(self, sample: CandidateSample) -> Optional[str]:
        boxes = sample.chosen_boxes
        areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(
            boxes[:, 3] - boxes[:, 1], 0, None)
        drop = np.zeros(len(areas), dtype=bool)
        reference = None
        for i in np.flatnonzero(sample.keep):
            area = areas[i]
            if not area > 0:
                drop[i] = True
                continue
            if reference is not None and max(area / reference,
                                             reference / area) > self.max_ratio:
                drop[i] = True
                continue
            reference = area
        sample.drop_frames(drop, self.rule)
        return None


@CONSTRUCTION_FILTERS.register_module()
class BoundaryRefinement(BaseConstructionFilter):
    """Set the span to where the object is detected.

    The span becomes ``[first kept frame, last kept frame + 1)`` (recipe: the
    temporal boundaries are refined to where the object is actually
    detected). With ``max_gap_seconds``, kept frames further apart than that
    split the detections into runs and only the run with the most kept
    frames is used (ties: the earliest; ours, not the paper's: a long gap
    means the object left the view, and one tube must be one stretch); the
    frames of the other runs are dropped under this rule.

    Args:
        max_gap_seconds: the longest gap inside one run; ``None`` for no
            split.
        min_detected_frames: drop the sample when fewer kept frames than
            this remain in the span.
        rule: see :class:`BaseConstructionFilter`.
    """

    default_rule = 'boundary_refinement'
    sets_span = True

    def __init__(self, max_gap_seconds: Optional[float] = None,
                 min_detected_frames: int = 1, rule: Optional[str] = None):
        super().__init__(rule)
        if max_gap_seconds is not None and max_gap_seconds <= 0:
            raise ValueError(f'max_gap_seconds must be > 0, got {max_gap_seconds}')
        if min_detected_frames < 1:
            raise ValueError(f'min_detected_frames must be >= 1, got {min_detected_frames}')
        self.max_gap_seconds = max_gap_seconds
        self.min_detected_frames = int(min_detected_frames)

    def __call__(self, sample: CandidateSample) -> Optional[str]:
        positions = np.flatnonzero(sample.keep)
        if not len(positions):
            return 'the object is detected on no kept frame'
        frames = sample.frame_inds[positions]
        if self.max_gap_seconds is not None and len(frames) > 1:
            gaps = np.diff(frames) / sample.fps
            breaks = np.flatnonzero(gaps > self.max_gap_seconds) + 1
            runs = np.split(np.arange(len(frames)), breaks)
            best = max(runs, key=len)  # max() keeps the first of equal lengths
            outside = np.ones(len(sample.keep), dtype=bool)
            outside[positions[best]] = False
            sample.drop_frames(outside, self.rule)
            frames = frames[best]
        sample.span_frames = (int(frames[0]), int(frames[-1]) + 1)
        if len(frames) < self.min_detected_frames:
            return (f'{len(frames)} detected frames in the refined span, fewer than '
                    f'{self.min_detected_frames}')
        return None


@CONSTRUCTION_FILTERS.register_module()
class DurationFilter(BaseConstructionFilter):
    """Drop samples shorter than ``min_seconds`` or longer than ``max_seconds``.

    ``measure='clip'`` (the recipe's reading: clips of 2-120 s) measures the
    whole video and runs before detection; ``measure='span'`` measures the
    refined span and must come after :class:`BoundaryRefinement`.

    Args:
        min_seconds: the shortest kept duration (inclusive).
        max_seconds: the longest kept duration (inclusive); ``None`` for no
            upper bound.
        measure: ``'clip'`` or ``'span'``.
        rule: see :class:`BaseConstructionFilter`.
    """

    default_rule = 'duration'

    def __init__(self, min_seconds: float = 2.0, max_seconds: Optional[float] = 120.0,
                 measure: str = 'clip', rule: Optional[str] = None):
        if measure not in ('clip', 'span'):
            raise ValueError(f"measure must be 'clip' or 'span', got {measure!r}")
        super().__init__(rule or f'{self.default_rule}_{measure}')
        if max_seconds is not None and max_seconds < min_seconds:
            raise ValueError(f'max_seconds {max_seconds} < min_seconds {min_seconds}')
        self.min_seconds = float(min_seconds)
        self.max_seconds = None if max_seconds is None else float(max_seconds)
        self.measure = measure
        self.needs_detections = self.needs_span = measure == 'span'

    def __call__(self, sample: CandidateSample) -> Optional[str]:
        if self.measure == 'clip':
            seconds = sample.duration
        else:
            if sample.span_frames is None:
                raise RuntimeError(
                    f"{self!r}: measure='span' needs a span; put BoundaryRefinement "
                    'before it in construction_filters')
            seconds = (sample.span_frames[1] - sample.span_frames[0]) / sample.fps
        if seconds < self.min_seconds:
            return f'{self.measure} lasts {seconds:.2f} s < {self.min_seconds:g} s'
        if self.max_seconds is not None and seconds > self.max_seconds:
            return f'{self.measure} lasts {seconds:.2f} s > {self.max_seconds:g} s'
        return None
