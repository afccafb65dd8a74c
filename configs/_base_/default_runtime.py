default_scope = 'mmstvg'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Stops at the first NaN/inf loss or gradient, before the step changes a
    # weight, and never saves non-finite weights (action='skip' skips such
    # steps and counts them instead). mmstvg/engine/hooks/nonfinite_check_hook.py
    nonfinite_check=dict(type='NonFiniteCheckHook', action='stop'),
)
# A progress bar over the val/test batches (MMEngine's loops show none).
custom_hooks = [dict(type='EvalProgressBarHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; gloo lets the same config run DDP on CPU-only machines.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)

log_level = 'INFO'
load_from = None
resume = False
# True fully unpickles checkpoints (trusted old files holding objects beyond
# tensors and MMEngine's own types); the same as --unsafe-load. Unpickling can
# run code stored in a file: mmstvg refuses such files by default.
unsafe_load = False
randomness = dict(seed=0, deterministic=False)
