from .bbox import (bbox_cxcywh_to_xyxy, bbox_xyxy_to_cxcywh, clip_boxes,
                   denormalize_boxes, normalize_boxes, paired_box_iou,
                   xywh_to_xyxy)
from .grounding_data_sample import (ALL_TASKS, CONVERSATION_TASKS, QA_TASKS, TASKS,
                                    GroundingDataSample, check_conversation)
from .span import (frame_times_and_duration, frames_in_span, frames_to_seconds,
                   seconds_to_frames, seconds_to_frames_at, span_iou)

__all__ = [
    'GroundingDataSample', 'TASKS', 'QA_TASKS', 'CONVERSATION_TASKS', 'ALL_TASKS',
    'check_conversation', 'bbox_cxcywh_to_xyxy', 'bbox_xyxy_to_cxcywh',
    'clip_boxes', 'denormalize_boxes', 'normalize_boxes', 'paired_box_iou',
    'xywh_to_xyxy', 'frame_times_and_duration', 'frames_in_span', 'frames_to_seconds', 'seconds_to_frames',
    'seconds_to_frames_at', 'span_iou'
]
