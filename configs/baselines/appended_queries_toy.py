# Ablation "not interleaved" (toy size): the same toy SpaceVLLM, but all T
# query tokens come after the whole video (AppendedQueries, in mmstvg's
# core) instead of one right after each frame. Every query then sees every
# frame; a learnable frame-index embedding tells them apart. Everything else
# (tower, LLM, QGSD head, data, schedule) is configs/spacevllm_toy.py's.
#   python tools/train.py configs/baselines/appended_queries_toy.py
_base_ = ['../spacevllm_toy.py']

model = dict(query_interleaver=dict(_delete_=True, type='AppendedQueries', max_frames=64))
