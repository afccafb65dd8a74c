"""Ground a sentence in a video (or a phrase in an image) from Python.

Example::

    from mmstvg.apis import GroundingInferencer

    inferencer = GroundingInferencer('configs/spacevllm_toy.py',
                                     'work_dirs/spacevllm_toy/iter_3000.pth', device='cpu')
    result = inferencer('video.mp4', 'the red circle moves left', out_dir='outputs')
    pred = result['predictions'][0]
    pred['span_seconds'], pred['frames'][0]['box_xyxy']
"""
import contextlib
import copy
import json
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose, pseudo_collate
from mmengine.infer import BaseInferencer
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model

from mmstvg.datasets.shared_video_sampling import pack_runs
from mmstvg.datasets.validation import DEFAULT_MAX_SENTENCE_WORDS
from mmstvg.datasets.transforms import with_prompt_tokenization
from mmstvg.engine.checkpoint_conversion import resolve_checkpoint
from mmstvg.models.grounders.shared_video import LastVideoCache
from mmstvg.registry import FUNCTIONS, INFERENCERS, MODELS, VISUALIZERS
from mmstvg.structures import (GroundingDataSample, clip_boxes, frames_in_span,
                               seconds_to_frames_at)
from mmstvg.utils import (atomic_write, check_checkpoint_fits_model, check_writable,
                          register_all_modules, safe_file_stem, unsafe_checkpoint_loading)
from mmstvg.utils.repo_paths import load_config, reroot_missing_paths
from mmstvg.visualization import GroundingVisualizer
from .inference_pipeline import (adapt_test_pipeline, build_inference_data_info,
                                 open_video_source)
from .tube_rendering import (draw_tubes, render_tube_video, render_tubes_video,
                             sampled_box_scores, span_caption, tube_sample_for_frames)

__all__ = ['GroundingInferencer', 'prediction_to_dict',
           'span_frames_on_presentation_times']

InputType = Union[str, np.ndarray, dict, tuple]
ConfigType = Union[Config, ConfigDict]
#: Drawing re-opens an input the pipeline's loader has already held to its
#: budgets (maybe raised in the config): no second, default budget.
NO_BUDGET = dict(max_image_pixels=None, max_frame_pixels=None, max_video_seconds=None)


def prediction_to_dict(sample: GroundingDataSample) -> dict:
    """The JSON-serialisable result of one predicted sample.

    Args:
        sample: a data sample after the model's ``predict``.

    Returns:
        A dict with ``sentence``, ``task``, ``video`` (path, or ``''`` for an
        array), ``num_frames``, ``fps``, ``height``, ``width``,
        ``span_seconds`` ``[start, end]``, ``span_frames`` (half-open
        ``[start, end)`` original frame indices), ``parse_ok``,
        ``answer_text`` and ``frames``: one entry per *distinct* sampled
        original frame, ascending (a video shorter than the sampler's frame
        count repeats frames; the first sample of a frame is reported), each
        ``{frame_index, time, box_xyxy, score, in_span}``; ``time`` is when
        the frame is shown (its presentation time; ``frame_index / fps`` for
        a constant frame rate), the time the prompt gave the model.
        ``box_xyxy`` is the predicted box in original pixels
        **clipped to the frame** (``[0, W] x [0, H]``); ``box_xyxy`` and
        ``score`` are None without boxes (TVG). ``in_span`` says whether the
        frame lies in ``span_frames`` (for REC: True).
    """
    meta = sample.metainfo
    fps = float(meta['fps'])
    frame_inds = np.asarray(meta['frame_inds'], dtype=np.int64)
    times = meta.get('frame_times')
    times = frame_inds / fps if times is None else np.asarray(times, dtype=np.float64)
    unique, first = np.unique(frame_inds, return_index=True)
    span_frames = [int(v) for v in sample.pred_span_frames.tolist()]
    in_span = frames_in_span(unique, span_frames)
    boxes = scores = None
    if sample.get('pred_boxes') is not None:
        boxes = clip_boxes(sample.pred_boxes.detach().cpu().numpy().astype(np.float64),
                           meta['ori_shape'])[first]
        scores = sample.pred_box_scores.detach().cpu().numpy()[first]
    frames = []
    for k, index in enumerate(unique.tolist()):
        frames.append(dict(
            frame_index=int(index), time=float(times[first[k]]),
            box_xyxy=None if boxes is None else [float(v) for v in boxes[k]],
            score=None if scores is None else float(scores[k]),
            in_span=bool(in_span[k])))
    return dict(
        sentence=meta['sentence'], task=meta['task'], video=meta.get('video_path', ''),
        num_frames=int(meta['num_frames']), fps=fps,
        height=int(meta['ori_shape'][0]), width=int(meta['ori_shape'][1]),
        span_seconds=[round(float(v), 6) for v in sample.pred_span_seconds.tolist()],
        span_frames=span_frames, parse_ok=bool(sample.pred_parse_ok),
        answer_text=str(sample.pred_text), frames=frames)


def span_frames_on_presentation_times(sample: GroundingDataSample) -> None:
    """Re-map a variable-frame-rate video's predicted span to its frames.

    The model answers a span in seconds on the prompt's time axis, the
    frames' presentation times, and maps it to frames with the average fps,
    which is wrong for a video whose frames are not ``index / fps`` apart.
    Where the pipeline recorded ``presentation_times`` (only such videos),
    ``pred_span_frames`` (and ``pred_box_mask``) are set again from
    ``pred_span_seconds`` on them (:func:`seconds_to_frames_at`).
    """
    meta = sample.metainfo
    boundaries = meta.get('presentation_times')
    if boundaries is None or meta.get('task') == 'rec' or \
            sample.get('pred_span_seconds') is None or not sample.get('pred_parse_ok', True):
        return
    span = seconds_to_frames_at(sample.pred_span_seconds.tolist(), boundaries)
    span = (span[0], min(span[1], int(meta['num_frames'])))
    sample.pred_span_frames = torch.tensor(span, dtype=torch.long)
    if sample.get('pred_box_mask') is not None:
        sample.pred_box_mask = torch.from_numpy(
            frames_in_span(np.asarray(meta['frame_inds']), span))


@INFERENCERS.register_module()
class GroundingInferencer(BaseInferencer):
    """Video + sentence -> span and tube; image + phrase -> box.

    It runs the config's test pipeline adapted for inputs without ground truth
    (:func:`~mmstvg.apis.inference_pipeline.adapt_test_pipeline`: the video's
    frame count, fps and size come from the video itself, no GT mapping, no
    random steps; the prompt tokenized by ``TokenizeGroundingPrompt`` with the
    model's config, :func:`~mmstvg.datasets.transforms.with_prompt_tokenization`),
    the model's ``predict`` in batches of ``batch_size`` inputs,
    and turns each predicted sample into a dict (:func:`prediction_to_dict`).

    Inputs (``__call__``'s ``inputs``, one or a list):

    - a video path, an image path (task ``'rec'``), a uint8 ``(T, H, W, 3)``
      RGB frame array (give ``fps``) or an ``(H, W, 3)`` image array, with the
      sentence in ``sentences``;
    - or ``(video, sentence)`` tuples;
    - or dicts ``{'video': ..., 'sentence': ..., 'task': optional,
      'fps': optional (arrays)}``.

    Args:
        model: a config path, a :class:`~mmengine.config.Config` or a dict
            with a ``model`` and a ``test_dataloader.dataset.pipeline`` (or
            ``test_pipeline``).
        weights: a checkpoint path; None keeps the freshly built weights (from
            the config's pretrained parts, else random) and warns.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``...; None picks the
            available one.
        scope: the registry scope. Defaults to ``'mmstvg'``.
        show_progress: show a progress bar over batches.
        unsafe_load: fully unpickle ``weights`` (trusted old files holding
            objects outside the safe allow-list; this can run code stored in
            the file; a config's ``unsafe_load = True`` does the same). By
            default a checkpoint holding anything but tensors and the types
            MMEngine writes is refused.
        keep_last_video: keep the last video's visual tokens and prompt
            prefix on the model (:class:`LastVideoCache`, one video: ~0.78 GB
            of key/value cache at 7B in bf16), so that a follow-up sentence
            on the same video skips the vision parts and the prefix pass.

    Several sentences about one video (``inferencer(video, ['s1', 's2'])``,
    or consecutive inputs of one video) are batched together and answered
    with one pass over the video (``model.share_video``): one decode, one
    vision pass, one prompt prefix.

    A checkpoint that does not fit the model (unexpected keys, missing
    trained keys, other shapes: another config's checkpoint) is an error;
    frozen pretrained parts may be absent (said once).

    From any working directory, the config's repository-relative paths
    (``data/pretrained/...``) and ``custom_imports`` (``projects.*``)
    resolve against the repository root where the working directory lacks
    them, as :func:`~mmstvg.utils.repo_paths.load_config` says.
    """

    preprocess_kwargs: set = {'sentences', 'task', 'fps'}
    forward_kwargs: set = set()
    visualize_kwargs: set = {'show', 'wait_time', 'draw_pred', 'return_vis', 'out_dir',
                             'render_all_frames'}
    postprocess_kwargs: set = {'no_save_pred'}

    def __init__(self,
                 model: Union[str, Config, ConfigDict, dict],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmstvg',
                 show_progress: bool = False,
                 unsafe_load: bool = False,
                 keep_last_video: bool = True) -> None:
        register_all_modules(init_default_scope=True)
        self._unsafe_load = unsafe_load
        self._keep_last_video = keep_last_video
        self._out_dir: Optional[str] = None
        if isinstance(model, str):
            model = load_config(model)
        elif isinstance(model, (Config, ConfigDict, dict)):
            model = copy.deepcopy(model)  # the caller's config stays as it is
            reroot_missing_paths(model)
        super().__init__(model=model, weights=weights, device=device, scope=scope,
                         show_progress=show_progress)

    # ------------------------------------------------------------ building
    def _init_model(self, cfg: ConfigType, weights: Optional[str], device: str):
        model = MODELS.build(cfg.model)
        model.cfg = cfg
        if weights is not None:
            weights = resolve_checkpoint(weights)  # a DeepSpeed directory: one fp32 file
            unsafe = self._unsafe_load or cfg.get('unsafe_load', False)
            opt_in = unsafe_checkpoint_loading() if unsafe else contextlib.nullcontext()
            with opt_in:
                checkpoint = _load_checkpoint(weights, map_location='cpu')
            check_checkpoint_fits_model(model, checkpoint, str(weights))
            _load_checkpoint_to_model(model, checkpoint)
        else:
            warnings.warn('GroundingInferencer: no checkpoint given; the model keeps '
                          'the weights it was built with (random where the config '
                          'names no pretrained parts)')
        model.to(device)
        model.eval()
        if self._keep_last_video and hasattr(model, 'last_video'):
            model.last_video = LastVideoCache()
        self.device = torch.device(device)
        return model

    @staticmethod
    def test_pipeline_cfg(cfg: ConfigType) -> List[dict]:
        """The config's test pipeline: ``test_dataloader.dataset.pipeline``
        (of the first part of a concatenated dataset), else ``test_pipeline``."""
        dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
        while not dataset.get('pipeline') and dataset.get('datasets'):
            dataset = dataset['datasets'][0]  # a ConcatDataset: its first part
        if dataset.get('pipeline'):
            return list(dataset['pipeline'])
        if cfg.get('test_pipeline'):
            return list(cfg.test_pipeline)
        raise KeyError('the config has neither test_dataloader.dataset.pipeline nor '
                       'test_pipeline')

    @staticmethod
    def sentence_rules(cfg: ConfigType) -> dict:
        """The test dataset's sentence budget (``max_sentence_words``,
        ``long_sentence``; the datasets' defaults where it names none)."""
        dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
        while dataset.get('datasets'):
            dataset = dataset['datasets'][0]  # a ConcatDataset: its first part
        rules = dict(max_sentence_words=DEFAULT_MAX_SENTENCE_WORDS, long_sentence='error')
        rules.update({key: dataset[key] for key in rules if key in dataset})
        return rules

    def _init_pipeline(self, cfg: ConfigType) -> Compose:
        self.sentence_cfg = self.sentence_rules(cfg)
        self.pipeline_cfg = with_prompt_tokenization(
            adapt_test_pipeline(self.test_pipeline_cfg(cfg)), cfg.model)
        return Compose(self.pipeline_cfg)

    def _init_collate(self, cfg: ConfigType):
        """The test dataloader's ``collate_fn`` (a name or ``dict(type=...)``),
        else ``pseudo_collate``."""
        collate = cfg.get('test_dataloader', {}).get('collate_fn')
        if collate is None:
            return pseudo_collate
        name = collate if isinstance(collate, str) else collate.get('type')
        if callable(name):
            return name
        function = FUNCTIONS.get(name)
        if function is None:
            raise KeyError(f'test_dataloader.collate_fn: {name!r} is not registered in '
                           'FUNCTIONS')
        return function

    def _init_visualizer(self, cfg: ConfigType) -> GroundingVisualizer:
        vis_cfg = cfg.get('visualizer')
        if vis_cfg is not None and vis_cfg.get('type') in ('GroundingVisualizer',
                                                           GroundingVisualizer):
            vis_cfg = dict(vis_cfg)
        else:
            vis_cfg = dict(type='GroundingVisualizer')
        vis_cfg['name'] = f'grounding_inferencer_{id(self)}'
        vis_cfg.pop('vis_backends', None)
        vis_cfg.pop('save_dir', None)
        return VISUALIZERS.build(vis_cfg)

    # ------------------------------------------------------------ inputs
    def _inputs_to_list(self, inputs) -> list:
        if isinstance(inputs, np.ndarray) or isinstance(inputs, (str, dict)):
            return [inputs]
        if isinstance(inputs, tuple) and len(inputs) == 2 and isinstance(inputs[1], str):
            return [inputs]
        return list(inputs)

    @staticmethod
    def _as_item(item: InputType, index: int, sentences, task, fps) -> dict:
        if isinstance(item, dict):
            item = dict(item)
        elif isinstance(item, tuple):
            if len(item) != 2:
                raise ValueError(f'input {index}: a tuple input is (video, sentence), '
                                 f'got {len(item)} items')
            item = dict(video=item[0], sentence=item[1])
        else:
            item = dict(video=item)
        if 'video' not in item:
            raise KeyError(f'input {index}: field "video" is missing')
        if item.get('sentence') is None:
            if sentences is None:
                raise ValueError(f'input {index}: field "sentence" is missing (give it '
                                 'in the input or in `sentences`)')
            item['sentence'] = sentences[index]
        item.setdefault('task', task)
        item.setdefault('fps', fps)
        return item

    def preprocess(self, inputs: list, batch_size: int = 1,
                   sentences: Optional[Union[str, Sequence[str]]] = None,
                   task: Optional[str] = None, fps: Optional[float] = None):
        """Build data infos, run the pipeline and group inputs by ``batch_size``.

        Args:
            inputs: the inputs (see the class docstring).
            batch_size: inputs per model call.
            sentences: one sentence per input (or one string for one input)
                where the inputs do not carry theirs.
            task: the task of inputs that do not name one (None: ``'rec'``
                for images, ``'stvg'`` otherwise).
            fps: frame rate of frame-array inputs that do not give one.

        Yields:
            The collated batches: the consecutive inputs of one video together
            (up to 16), the others ``batch_size`` at a time
            (:func:`~mmstvg.datasets.shared_video_sampling.pack_runs`).
        """
        if isinstance(sentences, str):
            sentences = [sentences]
        if sentences is not None and len(sentences) != len(inputs):
            raise ValueError(f'{len(inputs)} inputs but {len(sentences)} sentences')
        infos, keys = [], []
        for index, item in enumerate(inputs):
            item = self._as_item(item, index, sentences, task, fps)
            video = item['video']
            keys.append(video if isinstance(video, str) else id(video))
            infos.append(build_inference_data_info(item['video'], item['sentence'], index,
                                                   item['task'], item['fps'],
                                                   **self.sentence_cfg))
        # One video's consecutive sentences in one batch (one pass over it).
        for batch in pack_runs(keys, batch_size):
            yield self.collate_fn([self.pipeline(infos[i]) for i in batch])

    def __call__(self, inputs, sentences: Optional[Union[str, Sequence[str]]] = None,
                 return_datasamples: bool = False, batch_size: int = 1, **kwargs) -> dict:
        """Ground each input's sentence.

        Args:
            inputs: one input or a list (see the class docstring).
            sentences: their sentences, where the inputs do not carry them;
                with one video input, a list asks each about that video.
            return_datasamples: return the predicted data samples instead of dicts.
            batch_size: inputs per model call.
            **kwargs: ``task``, ``fps`` (:meth:`preprocess`); ``return_vis``,
                ``out_dir``, ``render_all_frames``, ``show``, ``wait_time``,
                ``draw_pred`` (:meth:`visualize`); ``no_save_pred``
                (:meth:`postprocess`).

        Returns:
            ``{'predictions': [per input dict or data sample], 'visualization':
            [per input uint8 (T, H', W, 3) drawn sampled frames] or None}``.
        """
        if kwargs.get('out_dir'):
            check_writable(kwargs['out_dir'], 'out_dir', is_dir=True)
        if isinstance(inputs, (str, np.ndarray)) and not isinstance(sentences, str) \
                and sentences is not None and len(sentences) > 1:
            inputs = [inputs] * len(sentences)  # one video, several sentences
        return super().__call__(inputs, return_datasamples=return_datasamples,
                                batch_size=batch_size, sentences=sentences, **kwargs)

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> List[GroundingDataSample]:
        """The model's ``test_step`` (data preprocessor + ``predict``) on a
        batch; a variable-frame-rate video's span in frames is then read on
        its presentation times (:func:`span_frames_on_presentation_times`)."""
        samples = self.model.test_step(inputs)
        for sample in samples:
            span_frames_on_presentation_times(sample)
        return samples

    # ------------------------------------------------------------ outputs
    @staticmethod
    def _video_of(item: InputType, fps: Optional[float] = None):
        """``(video, fps)`` of one input as given."""
        if isinstance(item, dict):
            return item['video'], item.get('fps') or fps
        if isinstance(item, tuple):
            return item[0], fps
        return item, fps

    def write_video(self, video: Union[str, np.ndarray], sample: GroundingDataSample,
                    out_file: str, render_all_frames: bool = True,
                    draw_pred: bool = True) -> int:
        """Write the predicted tube and span of one input as an mp4.

        Args:
            video: the input's video (path or frame array).
            sample: its predicted data sample.
            out_file: the ``.mp4`` to write.
            render_all_frames: every original frame at the video's fps (the
                tube interpolated between sampled frames, see
                :func:`~mmstvg.apis.tube_rendering.densify_tube`); False: only
                the sampled frames.
            draw_pred: draw the boxes (False: caption and span bar only).

        Returns:
            The number of frames written.
        """
        meta = sample.metainfo
        reader = open_video_source(video, meta['task'], meta['fps'],
                                   name=meta.get('sample_id', 'input'),
                                   **NO_BUDGET)
        boxes = self._reported_boxes(sample) if draw_pred else None
        return render_tube_video(reader, sample, self.visualizer, out_file, boxes,
                                 all_frames=render_all_frames)

    def draw_sampled_frames(self, video: Union[str, np.ndarray],
                            sample: GroundingDataSample,
                            draw_pred: bool = True,
                            max_width: Optional[int] = None) -> np.ndarray:
        """The sampled frames at original size with the predicted tube, the
        caption (sentence and span) and the footer (time, span bar).

        An image (task ``rec``) gets the sentence alone as caption and no
        time bar. ``max_width`` shrinks wider frames before drawing (see
        ``GroundingVisualizer.draw_frames``; ``grid_frame_width`` gives the
        width for a capped grid).

        Returns:
            uint8 ``(T, H', W, 3)`` RGB (see ``GroundingVisualizer.draw_frames``).
        """
        meta = sample.metainfo
        reader = open_video_source(video, meta['task'], meta['fps'],
                                   name=meta.get('sample_id', 'input'),
                                   **NO_BUDGET)
        frame_inds = np.asarray(meta['frame_inds'], dtype=np.int64)
        frames = reader.get_batch(frame_inds.tolist())
        frames = frames.asnumpy() if hasattr(frames, 'asnumpy') else np.asarray(frames)
        span = [int(v) for v in sample.pred_span_frames.tolist()]
        boxes = self._reported_boxes(sample) if draw_pred else None
        caption = meta['sentence'] if meta['task'] == 'rec' else span_caption(
            meta['sentence'], sample.pred_span_seconds.tolist(),
            bool(sample.pred_parse_ok))
        drawn_sample = tube_sample_for_frames(
            sample, frame_inds, boxes, frames_in_span(frame_inds, span), caption,
            sampled_box_scores(sample))
        return self.visualizer.draw_frames(frames, drawn_sample, draw_gt=False,
                                           draw_pred=draw_pred, max_width=max_width)

    def write_tubes_video(self, video: Union[str, np.ndarray],
                          samples: Sequence[GroundingDataSample], out_file: str,
                          colors: Optional[Sequence[tuple]] = None,
                          min_width: Optional[int] = None,
                          max_width: Optional[int] = None, fourcc: str = 'mp4v') -> int:
        """Write every frame of one video with several sentences' tubes drawn,
        each in its colour, one footer with its span per sentence (see
        :func:`~mmstvg.apis.tube_rendering.render_tubes_video`).

        Args:
            video: the video all ``samples`` were predicted on (path or array).
            samples: its predicted samples, one per sentence.
            out_file: the video file to write.
            colors: RGB per sample; None: the sentence palette in order.
            min_width: enlarge narrower frames to this width first.
            max_width: shrink wider frames to this width first.
            fourcc: the codec (``'VP80'`` into ``.webm`` plays in browsers).

        Returns:
            The number of frames written.
        """
        meta = samples[0].metainfo
        reader = open_video_source(video, meta['task'], meta['fps'],
                                   name=meta.get('sample_id', 'input'), **NO_BUDGET)
        boxes = [self._reported_boxes(sample) for sample in samples]
        return render_tubes_video(reader, samples, self.visualizer, out_file, boxes,
                                  colors, min_width, max_width, fourcc)

    def draw_sampled_tubes(self, video: Union[str, np.ndarray],
                           samples: Sequence[GroundingDataSample],
                           colors: Optional[Sequence[tuple]] = None,
                           min_width: Optional[int] = None) -> np.ndarray:
        """The first sample's sampled frames with every sample's tube drawn
        in its colour and one footer per sample (see
        :func:`~mmstvg.apis.tube_rendering.draw_tubes`): each tube is the
        model's own box on its sampled frames, so with the sentences of one
        video (one sampler, the same frames) the boxes are those reported.

        Returns:
            uint8 ``(T, H', W', 3)`` RGB.
        """
        meta = samples[0].metainfo
        reader = open_video_source(video, meta['task'], meta['fps'],
                                   name=meta.get('sample_id', 'input'), **NO_BUDGET)
        frame_inds = np.unique(np.asarray(meta['frame_inds'], dtype=np.int64))
        frames = reader.get_batch(frame_inds.tolist())
        frames = frames.asnumpy() if hasattr(frames, 'asnumpy') else np.asarray(frames)
        boxes = [self._reported_boxes(sample) for sample in samples]
        return draw_tubes(frames, frame_inds, samples, boxes, self.visualizer, colors,
                          min_width)

    def visualize(self, inputs: list, preds: List[GroundingDataSample],
                  return_vis: bool = False, show: bool = False, wait_time: float = 0,
                  draw_pred: bool = True, out_dir: str = '',
                  render_all_frames: bool = True) -> Optional[List[np.ndarray]]:
        """Draw the predicted tube and span (no ground truth).

        Args:
            inputs: the inputs as given (to re-read frames at full size).
            preds: the predicted samples.
            return_vis: return the drawn sampled frames per input.
            show: show the drawn frames as a grid in a window.
            wait_time: seconds a shown window stays.
            draw_pred: draw the tube (False: frames, span bar and caption only).
            out_dir: write ``<out_dir>/<video_id>.mp4`` per input (``.png``
                grid for an image), plus the JSON in :meth:`postprocess`.
            render_all_frames: the mp4 holds every original frame at the
                video's fps, the tube interpolated between sampled frames;
                False: only the sampled frames.

        Returns:
            Per input a uint8 ``(T, H', W, 3)`` array of the sampled frames
            at original size with caption and footer, or None when neither
            ``return_vis`` nor ``show`` asks for it.
        """
        self._out_dir = out_dir or None
        if not (return_vis or show or out_dir):
            return None
        results = []
        for index, sample in enumerate(preds):
            video, _ = self._video_of(inputs[index])
            name = self.output_name(sample, index)
            is_image = sample.metainfo['task'] == 'rec'
            if out_dir and not is_image:
                self.write_video(video, sample, osp.join(out_dir, f'{name}.mp4'),
                                 render_all_frames, draw_pred)
            if not (return_vis or show or (out_dir and is_image)):
                continue
            drawn = self.draw_sampled_frames(video, sample, draw_pred)
            if out_dir and is_image:
                os.makedirs(out_dir, exist_ok=True)
                cv2.imwrite(osp.join(out_dir, f'{name}.png'), drawn[0][..., ::-1])
            if show:
                height, width = sample.metainfo['ori_shape'][:2]
                small = self.draw_sampled_frames(
                    video, sample, draw_pred,
                    self.visualizer.grid_frame_width(len(drawn), height, width))
                self.visualizer.show(self.visualizer.make_grid(small), win_name=name,
                                     wait_time=wait_time)
            results.append(drawn)
        return results if (return_vis or show) else None

    @staticmethod
    def _reported_boxes(sample: GroundingDataSample) -> Optional[np.ndarray]:
        """The sampled frames' boxes as reported: clipped to the frame."""
        if sample.get('pred_boxes') is None:
            return None
        return clip_boxes(sample.pred_boxes.detach().cpu().numpy().astype(np.float64),
                          sample.metainfo['ori_shape'])

    @staticmethod
    def output_name(sample: GroundingDataSample, index: int) -> str:
        """File stem of an input's outputs: ``<index>_<video_id>``."""
        return f'{index}_{safe_file_stem(sample.metainfo["video_id"])}'

    def postprocess(self, preds: List[GroundingDataSample],
                    visualization: Optional[List[np.ndarray]],
                    return_datasamples: bool = False,
                    no_save_pred: bool = False) -> Dict[str, list]:
        """Pack the results; with ``out_dir``, write ``<name>.json`` per input.

        Args:
            preds: the predicted samples.
            visualization: what :meth:`visualize` returned.
            return_datasamples: keep the data samples instead of dicts.
            no_save_pred: do not write the JSON files even with ``out_dir``.

        Returns:
            ``{'predictions': list, 'visualization': list or None}``.
        """
        dicts = [prediction_to_dict(sample) for sample in preds]
        if self._out_dir and not no_save_pred:
            os.makedirs(self._out_dir, exist_ok=True)
            for index, (sample, result) in enumerate(zip(preds, dicts)):
                path = osp.join(self._out_dir, f'{self.output_name(sample, index)}.json')
                atomic_write(json.dumps(result, indent=1), path)
        return dict(predictions=list(preds) if return_datasamples else dicts,
                    visualization=visualization)

