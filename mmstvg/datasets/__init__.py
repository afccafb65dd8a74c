"""Grounding datasets (HC-STVG, VidSTG, Charades-STA, RefCOCO, Uni-STG, synthetic)
and their transforms."""
from .base_grounding_dataset import (CONTRACT_KEYS, BaseGroundingDataset,
                                     GroundingDataError)
from .charades_sta import CharadesSTADataset, probe_video_meta
from .hcstvg import HCSTVGDataset, HCSTVGv2Dataset
from .refcoco import RefCOCODataset
from .synthetic import generate_synthetic_stvg
from .transforms import *  # noqa: F401,F403
from .unistg import DEFAULT_PROMPT_TEMPLATES, UniSTGDataset
from .vidstg import VidSTGDataset

__all__ = [
    'CONTRACT_KEYS', 'BaseGroundingDataset', 'GroundingDataError',
    'HCSTVGDataset', 'HCSTVGv2Dataset', 'VidSTGDataset', 'CharadesSTADataset',
    'RefCOCODataset', 'UniSTGDataset', 'DEFAULT_PROMPT_TEMPLATES',
    'generate_synthetic_stvg', 'probe_video_meta'
]
