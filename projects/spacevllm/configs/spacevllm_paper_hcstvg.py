# SpaceVLLM-7B on HC-STVG v1 as the paper describes it, without our additions:
# the Query-Guided Space Decoder's box MLP predicts (cx, cy, w, h) from the
# guided query alone (no reference points on the token grid), and the LLM
# alone writes *when* in its answer (no frame score head, no span writer).
# Everything else is configs/spacevllm_hcstvg.py's recipe.
#   python tools/train.py configs/spacevllm_paper_hcstvg.py
# What our additions are worth on the toy: docs/en/base_pretraining.md and
# docs/en/results.md (ablation).
_base_ = ['./spacevllm_hcstvg.py']

model = dict(
    space_decoder=dict(
        _delete_=True,
        type='QueryGuidedSpaceDecoder',
        attention='learnable',
        num_heads=8,
        num_mlp_layers=3,
        loss_bbox=dict(type='mmdet.L1Loss', loss_weight=5.0),
        loss_iou=dict(type='mmdet.GIoULoss', loss_weight=2.0)),
    heads=[],
    frame_state_source='llm_queries',
    logits_processors=[])
