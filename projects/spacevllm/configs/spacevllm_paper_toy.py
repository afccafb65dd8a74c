# The toy (configs/spacevllm_toy.py: the full-size recipe at reduced width on
# the small base pretrained here) as the paper describes SpaceVLLM, without
# our additions: the paper's space decoder (no reference points) and *when*
# written by the LLM alone (no frame score head, no span writer). The "paper"
# row of the ablation (tools/analysis_tools/run_ablation.sh, docs/en/results.md).
#   python tools/train.py configs/spacevllm_paper_toy.py
_base_ = ['./spacevllm_toy.py']

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
