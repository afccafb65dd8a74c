"""Grounding datasets (HC-STVG, VidSTG, Charades-STA, RefCOCO, Uni-STG, synthetic),
video QA and LLaVA-Video conversation datasets, and their transforms."""
from .base_grounding_dataset import (CONTRACT_KEYS, BaseGroundingDataset,
                                     GroundingDataError)
from .charades_sta import CharadesSTADataset, probe_video_meta
from .hcstvg import HCSTVGDataset, HCSTVGv2Dataset
from .llava_video_sft import ConversationDataError, LlavaVideoSFTDataset
from .refcoco import RefCOCODataset
from .shared_video_sampling import (SharedVideoBatchSampler, SharedVideoSampler,
                                    video_segment_key)
from .synthetic import generate_synthetic_stvg
from .temporal_grounding import (DiDeMoDataset, TACoSDataset,
                                 TemporalGroundingDataset)
from .transforms import *  # noqa: F401,F403
from .unistg import DEFAULT_PROMPT_TEMPLATES, UniSTGDataset
from .validation import (as_boxes, as_float, as_int, check_fps,
                         check_frame_inds, check_sentence, load_json,
                         read_text)
from .video_qa import (EgoSchemaDataset, MVBenchDataset, TempCompassDataset,
                       VideoMMEDataset)
from .vidstg import VidSTGDataset

__all__ = [
    'CONTRACT_KEYS', 'BaseGroundingDataset', 'GroundingDataError',
    'HCSTVGDataset', 'HCSTVGv2Dataset', 'VidSTGDataset', 'CharadesSTADataset',
    'RefCOCODataset', 'UniSTGDataset', 'DEFAULT_PROMPT_TEMPLATES',
    'generate_synthetic_stvg', 'probe_video_meta', 'TemporalGroundingDataset',
    'DiDeMoDataset', 'TACoSDataset', 'as_boxes', 'as_float', 'as_int',
    'check_fps', 'check_frame_inds', 'check_sentence', 'load_json', 'read_text',
    'EgoSchemaDataset', 'MVBenchDataset', 'TempCompassDataset', 'VideoMMEDataset',
    'LlavaVideoSFTDataset', 'ConversationDataError', 'SharedVideoSampler',
    'SharedVideoBatchSampler', 'video_segment_key'
]
