# Ablation "no dual cross-attention" at toy size: configs/spacevllm_toy.py with
# an MLP on each query's hidden state (MLPBoxHead, 3 layers like the QGSD's
# box MLP) instead of the space decoder; the twin of mlp_box_head_hcstvg.py.
_base_ = ['../spacevllm_toy.py']

model = dict(space_decoder=dict(_delete_=True, type='MLPBoxHead', num_layers=3))
