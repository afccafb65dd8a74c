# SpaceVLLM from scratch: interleaved queries + the space decoder on tiny
# *random* parts (SigLIP, Qwen2, a word-level tokenizer; no pretrained base),
# with the additions that make a random LLM learn (time pointer, frame score
# head, snapped answers). Trained on the synthetic STVG set on CPU in minutes.
# Not the README's main job (configs/spacevllm_toy.py, the full-size recipe
# on a small pretrained base): the tests' fast model, and the earlier toy
# whose figures docs/en/results.md keeps.
_base_ = [
    '../_base_/models/spacevllm_scratch.py',
    '../../../../configs/_base_/datasets/synthetic_stvg.py',
    '../../../../configs/_base_/schedules/toy_cpu.py',
    '../../../../configs/_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='CheckpointHook', interval=1000, by_epoch=False,
                    max_keep_ckpts=2, save_best='stvg/m_vIoU', rule='greater'))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
