# Multiple-choice video QA (MVBench, Video-MME, EgoSchema, TempCompass): the
# test pipeline shared by configs/video_qa/*.py. Names start with
# `qa_` so that they do not clash with a grounding recipe's base they are
# combined with. Frames: uniform over the whole video, 64 at 384 px (the
# grounding recipe's; lmms-eval's LLaVA-Video runs use 32 or 64), resized to 384x384
# as LLaVA-Video's SigLIP processor does (bicubic, no letterbox; see
# configs/_base_/datasets/video_grounding.py); the video's frame count and fps come
# from the file.
qa_num_frames = 64
qa_img_scale = (384, 384)

qa_test_pipeline = [
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=qa_num_frames, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='GroundingResize', scale=qa_img_scale, keep_ratio=False,
         interpolation='bicubic'),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=False),
]
