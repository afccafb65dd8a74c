# Automatic STVG data construction with the settings known of SpaceVLLM's
# Uni-STG recipe (secondary reading; see docs/en/data_construction.md):
# Qwen2.5-72B-Instruct picks the object and writes the referring sentence,
# Grounding-DINO boxes it (score >= 0.3, the highest-scored box per frame),
# the span is refined to the detected frames, clips of 2-120 s are kept, and
# frames with > 3 boxes or a > 2x box-area jump are dropped.
#
#   python tools/data_construction/build_stvg.py \
#       configs/data_construction/unistg_stvg_recipe.py [--limit 20] [--workers 8]
#
# Weights (nothing is downloaded at run time; put them here first):
#   data/pretrained/Qwen2.5-72B-Instruct/   hub: Qwen/Qwen2.5-72B-Instruct
#   data/pretrained/bert-base-uncased/      hub: google-bert/bert-base-uncased
#                                           (Grounding-DINO's text encoder)
#   data/pretrained/grounding_dino/groundingdino_swint_ogc_mmdet-822d7e9d.pth
#       https://download.openmmlab.com/mmdetection/v3.0/grounding_dino/
#       groundingdino_swint_ogc_mmdet-822d7e9d.pth (mmdet's conversion of the
#       official Swin-T weights, config grounding_dino_swin-t_pretrain_obj365_goldg_cap4m)
# Swin-B instead: config 'mmdet::grounding_dino/grounding_dino_swin-b_pretrain_mixeddata.py',
#   weights groundingdino_swinb_cogcoor_mmdet-55949c9c.pth (same folder on the server).
#
# Input: data/stvg_construction/captions.json, a json list of
#   {"video": "relative/path.mp4", "caption": "...", "span": [start_s, end_s]}
# ("span" optional: a coarse window to search the object in).

work_dir = 'work_dirs/unistg_stvg_construction'
ann_file = 'annotations/unistg_stvg_hcstvg.json'  # HC-STVG v1 raw format
report_file = 'construction_report.json'

source = dict(
    ann_file='data/stvg_construction/captions.json',
    video_root='data/stvg_construction/videos',
    format='list')

object_picker = dict(
    type='TransformersObjectPicker',
    model_path='data/pretrained/Qwen2.5-72B-Instruct',
    batch_size=16,
    max_new_tokens=96,
    device=None,
    device_map='auto',  # 72B in bf16 spreads over the visible GPUs (~145 GB)
    torch_dtype='bfloat16')

detector = dict(
    type='GroundingDINODetector',
    config='mmdet::grounding_dino/grounding_dino_swin-t_pretrain_obj365_goldg_cap4m.py',
    checkpoint='data/pretrained/grounding_dino/groundingdino_swint_ogc_mmdet-822d7e9d.pth',
    text_encoder_path='data/pretrained/bert-base-uncased',
    score_thr=0.3,
    batch_size=16,
    scale=(800, 1333),
    device='auto')

# Frames the detector sees: 2 per second (ours; the paper's rate is not known),
# at most 240 per clip (120 s).
sampling = dict(sample_fps=2.0, max_frames=240)
box_choice = 'highest_score'
fill = 'linear'  # boxes of the frames between two detected ones are interpolated

construction_filters = [
    dict(type='DurationFilter', min_seconds=2.0, max_seconds=120.0, measure='clip'),
    dict(type='MaxBoxesFrameFilter', max_boxes=3),
    dict(type='BoxAreaJumpFrameFilter', max_ratio=2.0),
    dict(type='BoundaryRefinement', max_gap_seconds=None, min_detected_frames=1),
]

workers = 1  # grounding processes; with several GPUs, one per GPU
start_method = 'spawn'
