# Ablation "not interleaved" at full size, HC-STVG v1: configs/spacevllm_hcstvg.py
# with all T queries after the whole video (AppendedQueries) instead of one
# after each frame. One part swapped; model, data, schedule otherwise equal.
_base_ = ['../spacevllm_hcstvg.py']

model = dict(query_interleaver=dict(_delete_=True, type='AppendedQueries', max_frames=64))
