"""Array-level helpers of the grounding metrics (no MMEngine state)."""
from .fingerprint import DumpMismatchError, query_fingerprint
from .offline import (dumped_video_meta, rescore_dump, sample_from_data_info,
                      samples_from_dump)
from .sample_fields import (PRED_KEYS, STATUS_FLAGS, classify_prediction,
                            to_numpy, valid_box_rows)
from .stvg_scoring import PROTOCOLS, interpolate_tube_boxes, score_stvg

__all__ = [
    'DumpMismatchError', 'PRED_KEYS', 'PROTOCOLS', 'STATUS_FLAGS',
    'classify_prediction', 'dumped_video_meta', 'query_fingerprint',
    'interpolate_tube_boxes', 'rescore_dump', 'sample_from_data_info',
    'samples_from_dump', 'score_stvg', 'to_numpy', 'valid_box_rows'
]
