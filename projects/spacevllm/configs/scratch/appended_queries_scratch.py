# Ablation "not interleaved" (from scratch): the same toy SpaceVLLM, but all T
# query tokens come after the whole video (AppendedQueries, in mmstvg's
# core) instead of one right after each frame. Every query then sees every
# frame; a learnable frame-index embedding tells them apart. Everything else
# (tower, LLM, QGSD head, data, schedule) is configs/scratch/spacevllm_scratch.py's.
#   python tools/train.py configs/scratch/appended_queries_scratch.py
_base_ = ['./spacevllm_scratch.py']

model = dict(query_interleaver=dict(_delete_=True, type='AppendedQueries', max_frames=64))
