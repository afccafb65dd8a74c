# QGSD, parameter-free reading, at toy size: configs/spacevllm_toy.py with
# attention='parameter_free' (plain scaled dot-product attentions over the
# LLM's hidden states); the twin of qgsd_parameter_free_hcstvg.py. Bare (the
# paper's decoder, no reference points):
#   --cfg-options model.space_decoder.frame_token_grid=None
_base_ = ['../spacevllm_toy.py']

model = dict(space_decoder=dict(attention='parameter_free'))
