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

- NaN training stops before the step and is never saved:
  test_nonfinite_training.py.
- a checkpoint that loads nothing: test_checkpoint_loads_nothing.py.
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
- image bombs (no pixel budget; also video frame size and duration):
  test_input_budgets.py.
- the demo labels every in-span frame "Pred 1.00": test_demo_scores.py.
- the VidSTG converter writes an empty file for a missing VidOR folder, and an
  empty annotation file fails with a bare ValueError: test_converter_reports.py.
- the Charades-STA converter reports unprobed videos as dropped lines:
  test_converter_reports.py.
"""
