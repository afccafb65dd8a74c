# SpaceVLLM, toy size: interleaved queries + the Query-Guided Space Decoder on a
# tiny random video LLM, trained on the synthetic STVG set on CPU in minutes.
# The README's main job (`make toy`) trains and evaluates this config.
_base_ = [
    '_base_/models/spacevllm_toy.py',
    '_base_/datasets/synthetic_stvg.py',
    '_base_/schedules/toy_cpu.py',
    '_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='CheckpointHook', interval=1000, by_epoch=False,
                    max_keep_ckpts=2, save_best='stvg/m_vIoU', rule='greater'))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
