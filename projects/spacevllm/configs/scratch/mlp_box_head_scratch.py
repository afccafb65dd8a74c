# Ablation "no dual cross-attention" (from scratch): the box of frame t is an MLP
# of its query's last-layer hidden state alone (MLPBoxHead, in mmstvg's core;
# 3 layers like the QGSD's box MLP); frame tokens and sentence are not read
# by the head. Queries stay interleaved; everything else is
# configs/scratch/spacevllm_scratch.py's.
#   python tools/train.py configs/scratch/mlp_box_head_scratch.py
_base_ = ['./spacevllm_scratch.py']

model = dict(space_decoder=dict(_delete_=True, type='MLPBoxHead', num_layers=3))
