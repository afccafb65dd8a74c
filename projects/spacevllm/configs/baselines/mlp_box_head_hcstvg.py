# Ablation "no dual cross-attention" at full size, HC-STVG v1:
# configs/spacevllm_hcstvg.py with an MLP on each query's hidden state
# (MLPBoxHead, 3 layers like the QGSD's box MLP) instead of the QGSD.
_base_ = ['../spacevllm_hcstvg.py']

model = dict(space_decoder=dict(_delete_=True, type='MLPBoxHead', num_layers=3))
