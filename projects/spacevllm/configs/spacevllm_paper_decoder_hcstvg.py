# SpaceVLLM-7B on HC-STVG v1 with the paper's space decoder as published: the
# Query-Guided Space Decoder's box MLP predicts (cx, cy, w, h) from the guided
# query alone, without our reference points on the token grid (the default
# of configs/spacevllm_hcstvg.py). Everything else is that recipe's.
#   python tools/train.py configs/spacevllm_paper_decoder_hcstvg.py
# What the reference points are worth: docs/en/base_pretraining.md.
_base_ = ['./spacevllm_hcstvg.py']

model = dict(
    space_decoder=dict(
        _delete_=True,
        type='QueryGuidedSpaceDecoder',
        attention='learnable',
        num_heads=8,
        num_mlp_layers=3,
        loss_bbox=dict(type='mmdet.L1Loss', loss_weight=5.0),
        loss_iou=dict(type='mmdet.GIoULoss', loss_weight=2.0)))
