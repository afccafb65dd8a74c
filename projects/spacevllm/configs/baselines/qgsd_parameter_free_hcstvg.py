# QGSD, parameter-free reading, at full size, HC-STVG v1:
# configs/spacevllm_hcstvg.py with attention='parameter_free' (plain scaled
# dot-product attentions over the LLM's hidden states; the box MLP is the
# head's only new module).
_base_ = ['../spacevllm_hcstvg.py']

model = dict(space_decoder=dict(attention='parameter_free'))
