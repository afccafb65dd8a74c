"""Issue 15's cases, one test each (here unless named otherwise).

1. safe loading: test_safe_loading.py.
2. checkpoint fit: test_checkpoint_fit.py, test_deepspeed_checkpoint_fit.py.
3. atomic saves, resume, writable outputs: test_atomic_saves_and_resume.py.
4. validation at the boundary: datasets in tests/test_datasets/test_validation.py
   (field types, fps, captions, budget, UTF-8, dump frame indices); the
   inferencer and the demo in test_inference_sentences.py.
5. part outputs: test_part_outputs.py and
   tests/test_models/test_grounder.py::test_part_outputs_are_checked_against_the_contract.
6. ``--amp``, launchers, schedules: test_amp_toy_configs.py,
   test_schedule_and_launchers.py.
Text-box counters: tests/test_models/test_text_boxes.py.

Issue 32's cases:

- NaN training stops before the step and is never saved, or (action='skip')
  skips the step and counts it; a non-finite model is never saved by interval
  or as best, and nothing is pruned; every training config (the text-box
  baselines included) keeps the check, before its CheckpointHook:
  test_nonfinite_training.py.
- a checkpoint that loads nothing (tools/test.py, --resume, and a fine-tuning
  load_from that fits none of the model's tensors; export_safetensors.py wrote a
  file of no tensor from one; probe_token_positions.py and benchmark_infer.py
  probed / timed the built weights; the construction's Grounding-DINO weights
  with no key of the detector): test_checkpoint_loads_nothing.py.
- two trainings on one work dir: test_work_dir_lock.py.
- special-token injection through user text:
  tests/test_models/test_user_text_tokens.py, tests/test_data_construction/test_picker.py.
- eval_predictions.py mis-scores DiDeMo (and drops other fields): every
  registered metric re-scores to its in-process figures, test_rescoring.py.
- a dump scored against other sentences or another annotation file:
  test_rescoring.py (fingerprints; old dumps warn once).
- re-scoring needs every video on disk: test_rescoring.py (videos moved away).
- a llava_llama / llava_mistral checkpoint taken for llava_qwen: test_llava_base_checkpoints.py.
- vocab_size other than the file's embedding rows (cut / random rows):
  test_llava_base_checkpoints.py.
- a llava_qwen tower given so400m's 16 heads whatever its shape:
  test_llava_base_checkpoints.py.
- mm_projector_type not read (mlp3x_gelu over mlp2x tensors): test_llava_base_checkpoints.py.
- image bombs (no pixel budget; also video frame size and duration, in the
  loaders, the inferencer and the construction pipeline; documented in
  docs/en/dataset_prepare.md, "Pixel and duration budgets"): test_input_budgets.py.
- the demo labels every in-span frame "Pred 1.00": test_demo_scores.py.
- the VidSTG converter writes an empty file for a missing VidOR folder, and an
  empty annotation file fails with a bare ValueError: test_converter_reports.py.
- the Charades-STA converter reports unprobed videos as dropped lines:
  test_converter_reports.py.
- a resume that changes the optimizer, the schedule, the batch size, the loop
  length or the model kept the old values without a word: it fails listing each
  change, or applies them with --resume-with-changes: test_resume_config_changes.py.
- paths with spaces through --cfg-options lost their spaces: test_cfg_options_spaces.py.
- the inferencer, the demo and the tools from another working directory
  (projects.* imports, data/... paths): test_other_working_directory.py.
- the from-scratch model on a video over 60 s ("Use the toy tokenizer or add time
  tokens"): tests/test_projects/test_spacevllm/test_addons/test_long_video_time_tokens.py
  (the time pointer and its answer are SpaceVLLM's additions).
- variable-frame-rate videos timed index / average fps (inferencer's reported
  times, prompt and span frames; wall-clock annotations' frame_times; no
  presentation times is an error): test_variable_frame_rate.py (vfr_video.py
  writes the video).
- missing videos handled four ways (the dataset's error counts the split's
  other missing videos, a skip is counted and logged once; the doctor lists
  them as "missing"; size_mismatch gives both sizes): test_missing_videos.py;
  re-scoring without videos: test_rescoring.py.
- the trivial baseline on Charades-STA takes the decoded duration and decodes
  every video: test_trivial_baseline_lengths.py.
- published counts (DiDeMo's merged file names reported; TACoS 4,001 vs 4,083
  and DiDeMo 1,037 vs 1,004 documented): test_published_counts.py.

Past the list (the same classes of fault elsewhere):

- every converter (DiDeMo, TACoS, HC-STVG, RefCOCO, VidSTG, Charades-STA)
  wrote an empty annotation file and exited 0 when it kept no entry; so did
  the construction pipeline (tools/data_construction/build_stvg.py) when every
  video failed or was dropped: test_converters_keep_nothing.py.
- the grounding metrics scored an empty split as all-zero figures (tools/test.py,
  trivial_baseline.py); ``indices`` selecting no sample; a Charades-STA file
  whose every line is dropped gave an empty dataset: test_empty_splits.py.
- eval_predictions.py scored an empty dump, or one of another split, as every
  sample missing (all zeros, exit 0): test_dump_matches_nothing.py.
- a JSON key repeated with another value (an HC-STVG video, a TVG video) kept
  the last entry alone; a repeated TVG ``id`` scored two samples with one
  prediction: test_duplicate_ids.py.
- ``model.max_new_tokens=0`` (and lmms-eval's ``max_new_tokens=0``) made every
  answer empty; base_zero_shot.py ``--num-videos`` 0 / negative and a split
  without scenes; trivial_baseline.py ``--beside`` metrics sharing no key
  printed an empty table: test_option_values.py.
"""
