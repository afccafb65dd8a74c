# A diagnostic, not a recipe (issue 29): the toy with the base's tower trained
# in the grounding stage at the full rate, where the recipe freezes it. The
# small base's tower starts random and is tuned only in stage 2 at a fifth of
# the rate, where LLaVA-Video's SigLIP is pretrained; if this run learns *when*
# and *where* much better than the toy, the tower is what limits the toy
# (docs/en/base_pretraining.md). Run as the ablation row `tower_trained`.
_base_ = ['./spacevllm_toy.py']

model = dict(vision_encoder=dict(freeze=False))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'vision_encoder.': dict(lr_mult=1.0)}))
