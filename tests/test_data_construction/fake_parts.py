"""Test-only parts registered in mmstvg's construction registries.

:class:`ColourBlobDetector` boxes the blobs of the phrase's colour on the
synthetic set's frames (a deterministic stand-in for Grounding-DINO, whose
tiny random weights find nothing meaningful); it can simulate a kill after
``kill_after`` videos. Never part of the library.
"""
import json
import os

import cv2
import numpy as np

from mmstvg.data_construction import BaseGroundingDetector, FrameDetections
from mmstvg.datasets.synthetic import COLORS
from mmstvg.registry import GROUNDING_DETECTORS


class SimulatedKill(BaseException):
    """Raised like a SIGKILL would stop the run: not an ``Exception``."""


@GROUNDING_DETECTORS.register_module()
class ColourBlobDetector(BaseGroundingDetector):
    """One box per connected blob of the phrase's colour (score 1.0, 0.99, ...).

    Args:
        score_thr: kept for the interface (all scores are >= 0.9).
        tolerance: the largest per-channel distance to the colour.
        min_pixels: smaller blobs are ignored.
        kill_after: raise :class:`SimulatedKill` on the call after this many.
        call_log: a file each call appends its phrase to (one json line).
    """

    def __init__(self, score_thr=0.3, tolerance=70, min_pixels=6, kill_after=None,
                 call_log=None):
        self.score_thr = score_thr
        self.tolerance = tolerance
        self.min_pixels = min_pixels
        self.kill_after = kill_after
        self.call_log = call_log
        self.calls = 0

    def detect(self, frames, phrase):
        if self.kill_after is not None and self.calls >= self.kill_after:
            raise SimulatedKill(f'killed after {self.calls} videos')
        self.calls += 1
        if self.call_log:
            with open(self.call_log, 'a') as f:
                f.write(json.dumps(dict(phrase=phrase, pid=os.getpid(),
                                        frames=len(frames))) + '\n')
        colour = next((np.array(rgb) for name, rgb in COLORS.items()
                       if name in phrase.split()), None)
        results = []
        for frame in frames:
            if colour is None:
                results.append(FrameDetections(np.zeros((0, 4)), np.zeros(0)))
                continue
            mask = (np.abs(frame.astype(np.int64) - colour).max(-1)
                    <= self.tolerance).astype(np.uint8)
            count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
            boxes = [[x, y, x + w, y + h] for x, y, w, h, area in stats[1:count]
                     if area >= self.min_pixels]
            scores = [1.0 - 0.01 * i for i in range(len(boxes))]
            results.append(FrameDetections(np.array(boxes, dtype=np.float64).reshape(-1, 4),
                                           np.array(scores)))
        return results
