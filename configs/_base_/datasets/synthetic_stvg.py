# The synthetic STVG set shipped by mmstvg (HC-STVG v1 raw format), made by
# tools/run_toy.sh (the README's main job) as
#   python tools/dataset_converters/generate_synthetic_stvg.py --num-train 1000 \
#       --num-val 300 --num-test 300 --object-size 0.12 0.18
# 1000 train / 300 val / 300 test videos of 64x64 px, 32-48 frames at 8 fps.
# Checkpoints are chosen on val (save_best) and reported on test, a split no
# choice has seen; 300 videos make one video 0.33 points of vIoU@0.5.
#
# `num_frames` (frames sampled per video) and `img_scale` are top-level values
# a model config overrides. MMEngine configs do not re-evaluate a base file,
# so a model config that changes them re-declares the three dataloaders'
# pipelines, or (command line) sets the sampler, always at index 1 of every
# pipeline: --cfg-options train_dataloader.dataset.pipeline.1.num_frames=N
dataset_type = 'HCSTVGDataset'
data_root = 'data/synthetic_stvg/'
num_frames = 16
img_scale = (64, 64)  # (width, height) frames are resized into, then padded to

train_pipeline = [
    dict(type='GroundingDecordInit', num_threads=1),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=False),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=True),
    # The sentences name directions ("moves left"): the flip mirrors the
    # motion and swaps the word with it, so the pair stays true.
    dict(type='GroundingRandomFlip', prob=0.5),
    dict(type='GroundingPad', size=img_scale),
    dict(type='ChooseQuestionTemplate'),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=True),
]
test_pipeline = [
    dict(type='GroundingDecordInit', num_threads=1),
    dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=True),
    dict(type='GroundingDecordDecode'),
    dict(type='LoadGroundingAnnotations'),
    dict(type='GroundingResize', scale=img_scale, keep_ratio=True),
    dict(type='GroundingPad', size=img_scale),
    dict(type='ChooseQuestionTemplate'),
    dict(type='PackGroundingInputs'),
    dict(type='TokenizeGroundingPrompt', with_answer=False),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    # The toy schedule is iteration-based: an endless seeded shuffle, as mmdet's
    # iteration-based configs use (no restart of the dataloader every epoch).
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/hcstvg_v1_train.json',
        data_prefix=dict(video='videos'),
        dataset_name='synthetic_stvg',
        on_bad_sample='error',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/hcstvg_v1_val.json',
        data_prefix=dict(video='videos'),
        dataset_name='synthetic_stvg',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/hcstvg_v1_test.json',
        data_prefix=dict(video='videos'),
        dataset_name='synthetic_stvg',
        test_mode=True,
        pipeline=test_pipeline))

val_evaluator = dict(type='STVGMetric', protocol='tubedetr')
test_evaluator = val_evaluator
