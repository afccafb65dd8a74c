# Ablation "no dual cross-attention" (toy size): the box of frame t is an MLP
# of its query's last-layer hidden state alone (MLPBoxHead, in mmstvg's core;
# 3 layers like the QGSD's box MLP); frame tokens and sentence are not read
# by the head. Queries stay interleaved; everything else is
# configs/spacevllm_toy.py's.
#   python tools/train.py configs/baselines/mlp_box_head_toy.py
_base_ = ['../spacevllm_toy.py']

model = dict(space_decoder=dict(_delete_=True, type='MLPBoxHead', num_layers=3))
