# Ablation "not interleaved" at toy size: configs/spacevllm_toy.py with all T
# queries after the whole video (AppendedQueries) instead of one after each
# frame; the twin of appended_queries_hcstvg.py. Bare (the paper's decoder):
#   --cfg-options model.space_decoder.frame_token_grid=None
_base_ = ['../spacevllm_toy.py']

model = dict(query_interleaver=dict(_delete_=True, type='AppendedQueries', max_frames=16))
