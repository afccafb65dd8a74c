"""An lmms-eval model that answers with an mmstvg config + checkpoint.

Installing mmstvg registers it with lmms-eval (entry point ``mmstvg`` of the
``lmms_eval.models`` group, ``setup.py``)::

    python -m lmms_eval --model mmstvg \\
        --model_args config=configs/video_qa/spacevllm_videomme.py,checkpoint=CKPT,device=cuda \\
        --tasks videomme --batch_size 1

It answers multiple-choice tasks in text, and the grounding requests of
mmstvg's own tasks (``mmstvg/lmms_eval_tasks``) with its one-pass heads'
prediction (:meth:`MMSTVGLMMs.ground`).

Importing this module needs lmms-eval (``pip install lmms-eval``, the
optional extra). Use and limits: ``docs/en/dataset_prepare.md``, "Scoring with
lmms-eval".
"""
import json
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.logging import print_log

from mmstvg.datasets.transforms import with_prompt_tokenization
from mmstvg.lmms_eval_tasks.docs import decode_data_info
from mmstvg.lmms_eval_tasks.scoring import PREDICTION_FIELDS, PREDICTION_TAG
from mmstvg.models.language import QA_TASK, options_in_prompt
from mmstvg.structures import GroundingDataSample
from .grounding_inferencer import GroundingInferencer
from .lmms_eval_compat import provide_filelock_api

__all__ = ['MMSTVGLMMs', 'lmms_eval_manifest', 'LMMS_EVAL_MODEL_ID']

#: The name lmms-eval knows the model by (``--model mmstvg``).
LMMS_EVAL_MODEL_ID = 'mmstvg'


def lmms_eval_manifest():
    """The entry point lmms-eval loads: the model's manifest.

    lmms-eval loads it on importing ``lmms_eval.models``, before any
    evaluation; it also lets lmms-eval 0.7.3's evaluator run beside
    filelock 4 (:mod:`.lmms_eval_compat`).
    """
    from lmms_eval.models.registry_v2 import ModelManifest
    provide_filelock_api()
    return ModelManifest(model_id=LMMS_EVAL_MODEL_ID,
                         simple_class_path=f'{__name__}.{MMSTVGLMMs.__name__}')


def _as_bool(value: Union[str, bool]) -> bool:
    """lmms-eval hands ``--model_args`` over as strings."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ('1', 'true', 'yes')


def qa_config(config: Union[str, Config], cfg_options: Optional[dict] = None) -> Config:
    """A config whose model answers multiple-choice questions.

    A grounding config's answer part is wrapped in ``MultipleChoiceAnswer``
    (as ``configs/video_qa/_base_/spacevllm_video_qa.py`` does), so any
    grounding checkpoint can be asked; a QA config is kept as it is.

    Args:
        config: a config path or a loaded config.
        cfg_options: more settings, as ``--cfg-options`` (merged last).
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config.copy()
    answer = cfg.model.get('answer') or dict(type='SpanAnswer')
    if answer.get('type') != 'MultipleChoiceAnswer':
        cfg.model.answer = dict(type='MultipleChoiceAnswer', grounding=dict(answer))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


class MMSTVGLMMs(lmms):
    """mmstvg's grounder as an lmms-eval model (multiple-choice and grounding tasks).

    Ours, not the paper's.

    **Grounding requests** (the documents of mmstvg's tasks,
    ``mmstvg/lmms_eval_tasks``, which carry the sample's mmstvg data info)
    are answered as ``tools/test.py`` answers them: the config's test
    pipeline (``test_dataloader.dataset.pipeline``, as the config gives it,
    its prompt tokenized with the model's text parts:
    :func:`~mmstvg.datasets.transforms.with_prompt_tokenization`) reads the
    sample, the model's ``test_step`` predicts on batches of
    ``batch_size`` documents of one task in their order (the batches of
    ``tools/test.py`` with that batch size), and the reply is
    the prediction itself (the span and per-frame boxes of its one-pass
    heads, the frames it sampled), tagged so that the task scores it as is
    (:mod:`mmstvg.lmms_eval_tasks.scoring`), never re-read from text. On the
    same data the task's figures equal ``tools/test.py``'s. The task's
    generation settings do not apply: the config's own do, as in
    ``tools/test.py``.

    **Multiple-choice requests**: each request's context (the task's prompt, with
    the question, the lettered options and the task's instructions, exactly
    as lmms-eval writes it) is the whole user turn: the config's chat
    template wraps it around the video, and the model's greedy reply goes
    back to lmms-eval *as text*, so lmms-eval's own answer extraction and
    metrics score it. The video is read as the config's test pipeline reads
    a video (its frame sampler and resize). Grounding heads stay idle.

    Not supported (a clear error names the task and document): requests
    without exactly one video file (image tasks; MVBench's frame-folder
    tasks), contexts that list no lettered options, ``loglikelihood`` and
    multi-round requests. Decoding is greedy: a sampling temperature is
    ignored (said once). One process: lmms-eval's ``accelerate launch`` data
    parallelism is not wired.

    Args:
        config: an mmstvg config path (a grounding config or one of
            ``configs/video_qa/*.py``).
        checkpoint: the checkpoint (``.pth``, safetensors, a DeepSpeed
            directory); None keeps the config's pretrained weights (warned).
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'`` ...; None picks one.
        batch_size: requests per model call.
        max_new_tokens: the generation budget (>= 1) when a request's
            ``gen_kwargs`` names none (default: the config's).
        unsafe_load: fully unpickle a trusted old checkpoint (see
            :class:`GroundingInferencer`).
        **kwargs: ``--cfg-options``-style settings for the config
            (``--model_args ...,model.max_new_tokens=8``; lmms-eval reads
            numbers and booleans as such).
    """

    def __init__(self, config: str, checkpoint: Optional[str] = None,
                 device: Optional[str] = None, batch_size: Union[int, str] = 1,
                 max_new_tokens: Optional[Union[int, str]] = None,
                 unsafe_load: Union[bool, str] = False, **kwargs) -> None:
        super().__init__()
        if not osp.isfile(config):
            raise FileNotFoundError(f'--model_args config={config!r}: no such file')
        if max_new_tokens is not None and int(max_new_tokens) < 1:
            raise ValueError(f'--model_args max_new_tokens must be >= 1, got '
                             f'{max_new_tokens!r}: every reply would be empty')
        kwargs.pop('max_batch_size', None)  # lmms-eval's; requests are not re-batched
        self.cfg = qa_config(config, kwargs)
        # Batch evaluation: the batches tools/test.py runs, computed as it computes
        # them (no last-video cache, whose prefix pass would move the last digits).
        self.inferencer = GroundingInferencer(self.cfg, checkpoint, device=device,
                                              unsafe_load=_as_bool(unsafe_load),
                                              keep_last_video=False)
        self.model = self.inferencer.model
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f'batch_size must be at least 1, got {batch_size!r}')
        self.default_max_new_tokens = (int(max_new_tokens) if max_new_tokens is not None
                                       else int(self.model.max_new_tokens))
        self._warned_sampling = False
        self._test_pipeline: Optional[Compose] = None

    # ------------------------------------------------------------ lmms API
    def loglikelihood(self, requests: List[Instance]) -> List[Tuple[float, bool]]:
        raise NotImplementedError(
            "mmstvg's lmms-eval model generates answers; it has no loglikelihood "
            "(use the benchmarks' generate_until tasks: videomme, mvbench, "
            'egoschema_subset, tempcompass_multi_choice)')

    def generate_until_multi_round(self, requests) -> List[str]:
        raise NotImplementedError("mmstvg's lmms-eval model answers single-turn questions")

    def generate_until(self, requests: List[Instance]) -> List[str]:
        """The model's reply to each request, cut at the request's stop strings.

        Requests are answered ``batch_size`` at a time, grouped by their
        generation settings, and returned in the order given.
        """
        replies: List[Optional[str]] = [None] * len(requests)
        groups: Dict[Tuple[int, Tuple[str, ...]], List[int]] = {}
        infos: Dict[int, dict] = {}
        grounding: Dict[str, List[int]] = {}
        for index, request in enumerate(requests):
            context, gen_kwargs, doc_to_visual, doc_id, task, split = request.args
            doc = self.task_dict[task][split][doc_id]
            if is_grounding_doc(doc):
                grounding.setdefault(task, []).append(index)
                infos[index] = grounding_data_info(doc, task, doc_id)
                continue
            budget, until = self._generation_settings(gen_kwargs or {}, task)
            groups.setdefault((budget, until), []).append(index)
            infos[index] = self.data_info(context, doc_to_visual(doc), task, doc_id)
        # Each task's documents in their order, batch_size at a time: the
        # batches tools/test.py's dataloader makes of the same dataset.
        for indices in grounding.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start:start + self.batch_size]
                for i, reply in zip(chunk, self.ground([infos[i] for i in chunk])):
                    replies[i] = reply
        for (budget, until), indices in groups.items():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start:start + self.batch_size]
                samples = self._predict([infos[i] for i in chunk], budget)
                for i, sample in zip(chunk, samples):
                    replies[i] = cut_at_stop_strings(sample.pred_text, until)
        return replies

    def ground(self, infos: List[dict]) -> List[str]:
        """Replies carrying the model's prediction for grounding data infos.

        Args:
            infos: mmstvg data infos (as the task's dataset gives them).

        Returns:
            One :data:`~mmstvg.lmms_eval_tasks.scoring.PREDICTION_TAG` reply
            per info: JSON of the sample's ``frame_inds``, ``num_frames`` and
            ``pred_*`` fields.
        """
        if self._test_pipeline is None:
            self._test_pipeline = Compose(with_prompt_tokenization(
                GroundingInferencer.test_pipeline_cfg(self.cfg), self.cfg.model))
        batch = self.inferencer.collate_fn([self._test_pipeline(dict(info))
                                            for info in infos])
        with torch.no_grad():
            samples = self.model.test_step(batch)
        return [prediction_reply(sample) for sample in samples]

    # ------------------------------------------------------------ helpers
    def _generation_settings(self, gen_kwargs: dict, task: str) -> Tuple[int, Tuple[str, ...]]:
        budget = int(gen_kwargs.get('max_new_tokens') or self.default_max_new_tokens)
        until = gen_kwargs.get('until') or ()
        until = (until, ) if isinstance(until, str) else tuple(until)
        sampling = gen_kwargs.get('do_sample') or float(gen_kwargs.get('temperature') or 0) > 0
        if sampling and not self._warned_sampling:
            self._warned_sampling = True
            print_log(f'task {task}: mmstvg decodes greedily; do_sample / temperature '
                      'are ignored', logger='current', level=logging.WARNING)
        return budget, until

    @staticmethod
    def data_info(context: str, visuals: Sequence, task: str, doc_id) -> dict:
        """The data info of one request: its video and the context as the turn.

        Raises:
            ValueError: when the request has not exactly one video file or its
                context lists no lettered options, naming the task and doc.
        """
        name = f'lmms-eval task {task!r} doc {doc_id!r}'
        visuals = list(visuals or [])
        if len(visuals) != 1 or not isinstance(visuals[0], str):
            kinds = ', '.join(sorted({type(v).__name__ for v in visuals})) or 'none'
            raise ValueError(f'{name}: mmstvg answers about one video file, got '
                             f'{len(visuals)} visuals ({kinds})')
        video = visuals[0]
        if osp.isdir(video):
            raise ValueError(f'{name}: {video} is a folder of frames; mmstvg reads video '
                             'files (frame-folder tasks are not supported)')
        options = options_in_prompt(context)
        if not options:
            raise ValueError(f'{name}: the context lists no lettered options (A. / (A) '
                             '...); mmstvg answers multiple-choice tasks')
        video_id = osp.splitext(osp.basename(video))[0]
        return dict(sample_id=f'{task}:{doc_id}', video_id=video_id, video_path=video,
                    task=QA_TASK, sentence=context, prompt_template='{sentence}',
                    options=options, dataset_name=f'lmms_eval_{task}', qtype='',
                    video_source=video, source_fps=None)

    def _predict(self, infos: List[dict], max_new_tokens: int) -> List[GroundingDataSample]:
        batch = self.inferencer.collate_fn([self.inferencer.pipeline(dict(info))
                                            for info in infos])
        saved = self.model.max_new_tokens
        self.model.max_new_tokens = max_new_tokens
        try:
            return self.inferencer.forward(batch)
        finally:
            self.model.max_new_tokens = saved


def cut_at_stop_strings(text: str, until: Sequence[str]) -> str:
    """``text`` up to the first of the stop strings (lmms-eval's ``until``)."""
    for stop in until:
        if stop and stop in text:
            text = text.split(stop, 1)[0]
    return text


def is_grounding_doc(doc) -> bool:
    """Whether an lmms-eval document is one of mmstvg's grounding tasks'."""
    return isinstance(doc, dict) and isinstance(doc.get('mmstvg_data_info'), str)


def grounding_data_info(doc: dict, task: str, doc_id) -> dict:
    """The mmstvg data info a grounding document carries.

    Raises:
        ValueError: naming the task and document when it cannot be read.
    """
    try:
        return decode_data_info(doc['mmstvg_data_info'])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f'lmms-eval task {task!r} doc {doc_id!r}: field '
                         f'"mmstvg_data_info" is not an encoded mmstvg data info '
                         f'({error})') from None


def _plain(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    if hasattr(value, 'tolist'):
        return value.tolist()
    return value


def prediction_reply(sample: GroundingDataSample) -> str:
    """The reply that carries a predicted sample to the task's scoring."""
    meta = sample.metainfo
    prediction = dict(frame_inds=_plain(meta['frame_inds']),
                      num_frames=int(meta['num_frames']))
    for field in PREDICTION_FIELDS:
        if field in sample:
            prediction[field] = _plain(sample.get(field))
    return PREDICTION_TAG + json.dumps(prediction)
