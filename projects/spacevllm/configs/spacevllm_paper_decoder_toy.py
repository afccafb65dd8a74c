# The toy (configs/spacevllm_toy.py: the full-size recipe at reduced width on
# the small base pretrained here) with the paper's space decoder as published,
# no reference points: the "paper's model" row of the ablation
# (tools/analysis_tools/run_ablation.sh, docs/en/results.md).
#   python tools/train.py configs/spacevllm_paper_decoder_toy.py
_base_ = ['./spacevllm_toy.py']

model = dict(
    space_decoder=dict(
        _delete_=True,
        type='QueryGuidedSpaceDecoder',
        attention='learnable',
        num_heads=8,
        num_mlp_layers=3,
        loss_bbox=dict(type='mmdet.L1Loss', loss_weight=5.0),
        loss_iou=dict(type='mmdet.GIoULoss', loss_weight=2.0)))
