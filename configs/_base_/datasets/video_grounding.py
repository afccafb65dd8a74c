# What the video grounding dataset configs share: the frame pipelines and the
# three loaders. HC-STVG v1 (and through it v2), VidSTG, Charades-STA, DiDeMo
# and TACoS inherit this file, as hcstvg_v2.py inherits hcstvg_v1.py; each
# sets its dataset class, files, batch size and metric.
#
# Frames as LLaVA-Video saw them: its SigLIP image processor resizes every
# frame to exactly 384 x 384 (bicubic, the aspect ratio not kept, no padding),
# so a 16:9 frame fills all 27 x 27 patches. Boxes stay in pixels of the
# original frame (docs/en/conventions.md), so a squeezed frame changes no
# target. Letterboxing (keep the ratio, pad to 384 x 384) is the option; see
# docs/en/full_size_models.md ("Frames").
#
# `num_frames` and `img_scale` are overridden by model configs (MMEngine does
# not re-evaluate a base file: set the pipelines' values, e.g.
# --cfg-options train_dataloader.dataset.pipeline.1.num_frames=32); the sampler
# is at index 1 and the resize at index 4 of every pipeline.
num_frames = 64
img_scale = (384, 384)  # (width, height): SigLIP-so400m-patch14-384's input

train_pipeline = [
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=False),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=False,
         interpolation='bicubic'),
    dict(type='GroundingRandomFlip', prob=0.5),
    dict(type='ChooseQuestionTemplate'),  # a Uni-STG mixture's question; else nothing
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=True),
]
test_pipeline = [
    dict(type='GroundingDecordInit', num_threads=2),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=False,
         interpolation='bicubic'),
    dict(type='ChooseQuestionTemplate'),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=False),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(on_bad_sample='skip', pipeline=train_pipeline))
# Evaluation batches hold every sentence of one video segment (one decode, one
# vision pass, one prompt prefix for all of them; the model's share_video):
# docs/en/shared_video_evaluation.md. For the plain order use
# sampler=dict(type='DefaultSampler', shuffle=False) and batch_sampler=None.
val_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SharedVideoSampler'),
    batch_sampler=dict(type='SharedVideoBatchSampler', max_sentences=16),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
