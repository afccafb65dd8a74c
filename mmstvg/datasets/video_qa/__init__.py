"""Multiple-choice video QA benchmarks (ours, not the paper's)."""
from .base_video_qa_dataset import BaseVideoQADataset
from .egoschema import EgoSchemaDataset
from .mvbench import MVBENCH_VIDEO_FOLDERS, MVBenchDataset
from .tempcompass import TEMPCOMPASS_ASPECTS, TempCompassDataset
from .videomme import VIDEOMME_DURATIONS, VideoMMEDataset

__all__ = [
    'BaseVideoQADataset', 'EgoSchemaDataset', 'MVBENCH_VIDEO_FOLDERS', 'MVBenchDataset',
    'TEMPCOMPASS_ASPECTS', 'TempCompassDataset', 'VIDEOMME_DURATIONS', 'VideoMMEDataset'
]
