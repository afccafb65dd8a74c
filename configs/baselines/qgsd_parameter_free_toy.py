# QGSD, parameter-free reading (toy size): the two cross-attentions are
# plain scaled dot-products over the LLM's own hidden states (no projection,
# no LayerNorm), so the box MLP is the only new module of the head. The
# default ('learnable') has its own attention layers. Everything else is
# configs/spacevllm_toy.py's.
#   python tools/train.py configs/baselines/qgsd_parameter_free_toy.py
_base_ = ['../spacevllm_toy.py']

model = dict(space_decoder=dict(attention='parameter_free'))
