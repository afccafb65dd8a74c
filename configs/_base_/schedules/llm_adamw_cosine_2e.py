# Fine-tuning schedule of the 7B grounders (all values ours: the paper gives
# none): AdamW without weight decay (as LLaVA) and one learning rate per
# part, 2 epochs, linear warm-up then cosine decay, gradients clipped at 1.0.
#
# Per-part learning rates (paramwise_cfg.custom_keys; a parameter takes the
# first key, longest first, that its name contains):
#   vision_encoder.     2e-6  (lr_mult 0.02; frozen by default, see the model)
#   llm.                2e-5  (lr_mult 0.2)
#   projector. / query_interleaver. / space_decoder. / frame_score_head.
#                       1e-4  (the base lr)
# Precision: fp32 master weights for everything that trains (the model
# configs' dtype='bf16' is the compute dtype), bf16 compute through autocast
# (AmpOptimWrapper; on a machine without a GPU the runner builder swaps in
# CPUAutocastOptimWrapper, the same autocast on CPU). Under --strategy fsdp
# FSDP's MixedPrecision owns bf16 (fp32 shards, bf16 compute); under
# --strategy deepspeed_zero2|zero3 DeepSpeed does (its bf16 section, fp32
# master copies, clipping) and the wrapper becomes DeepSpeedOptimWrapper. The
# optimizer and its parameter groups stay these in every case.
max_epochs = 2
base_lr = 1e-4
warmup_iters = 200

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999), weight_decay=0.0),
    clip_grad=dict(max_norm=1.0),
    paramwise_cfg=dict(
        custom_keys={
            'vision_encoder.': dict(lr_mult=0.02),
            'llm.': dict(lr_mult=0.2),
            'projector.': dict(lr_mult=1.0),
            'query_interleaver.': dict(lr_mult=1.0),
            'space_decoder.': dict(lr_mult=1.0),
            'frame_score_head.': dict(lr_mult=1.0),
        }))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]

# The rates are meant for a total batch of 8 (batch 1 per GPU, set by the
# dataset bases, x 8 GPUs). With enable=True MMEngine's Runner scales every
# rate by (total batch / 8).
auto_scale_lr = dict(enable=False, base_batch_size=8)

# Epoch-based loop: the top-level configs set log_processor.by_epoch=True
# (default_runtime.py, which logs by iteration, owns that key).
