# QGSD, parameter-free reading (from scratch): the two cross-attentions are
# plain scaled dot-products over the LLM's own hidden states (no projection,
# no LayerNorm), so the box MLP is the only new module of the head. The
# default ('learnable') has its own attention layers. Everything else is
# configs/scratch/spacevllm_scratch.py's.
#   python tools/train.py configs/scratch/qgsd_parameter_free_scratch.py
_base_ = ['./spacevllm_scratch.py']

model = dict(space_decoder=dict(attention='parameter_free'))
