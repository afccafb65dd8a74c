"""Sentences per second with and without sharing a video between its sentences.

Used by ``benchmark_full_length.py --sentences-per-video K`` (issue 31): ``K``
sentences about one video, answered

- **alone**: one ``test_step`` per sentence, each decoding its frames (the real
  pipeline on a written video, no reuse) and running the vision parts and the
  whole prompt, as ``tools/test.py`` did before grouping;
- **shared**: the frames decoded once, one ``test_step`` on the ``K`` sentences
  with ``model.share_video`` (one vision pass, one prefix pass, the sentences
  continued from the prefix's key/value cache).

Both in one process on the same model and frames; the predictions must be
equal. Times are split into decode, vision (tower + projector), the LLM's
prompt passes, its generation steps and the rest. The projected VidSTG test
pass uses the linear cost of a segment, ``a + b * k`` for ``k`` sentences,
fitted from the shared runs at ``K = 1`` and ``K``.
"""
import copy
import json
import os.path as osp
import sys
import tempfile
import time
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
for path in (REPO_ROOT, osp.dirname(osp.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before mmstvg's modules below load mmengine.runner (and DeepSpeed):
# safe checkpoint loading, atomic writes, the message filters.
apply_runtime_patches()

from benchmark_infer import PartTimer  # noqa: E402

#: VidSTG's public test split (``test_annotations.json``): 4,610 declarative
#: and 5,693 interrogative sentences on 2,527 distinct (video, used_segment)
#: pairs, counted from the raw file.
VIDSTG_TEST_SENTENCES = 10303
VIDSTG_TEST_SEGMENTS = 2527

SENTENCES = ('the man in the white shirt walks to the door and opens it',
             'who is holding the red cup?', 'a dog runs across the room',
             'what does the child in blue hold?', 'the woman sits down on the sofa',
             'the cat jumps onto the table', 'who opens the window?',
             'a car drives past the house')


def write_benchmark_video(path: str, size: Tuple[int, int] = (640, 360), fps: float = 25.0,
                          seconds: float = 20.0) -> str:
    """A moving-gradient mp4 (OpenCV's ``mp4v``) of ``size`` = (width, height)."""
    import cv2
    width, height = size
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path}')
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    for index in range(int(round(fps * seconds))):
        frame = (ramp + 3 * index) % 256
        frame = np.broadcast_to(frame, (height, width, 3)).astype(np.uint8)
        writer.write(np.ascontiguousarray(frame))
    writer.release()
    return path


def decode_pipeline(num_frames: int, image_size: int, reuse_last: bool, tokenize=None):
    """The full-size test pipeline's loading steps (decord, uniform sampling,
    resize), then ``tokenize`` (a built ``TokenizeGroundingPrompt``, made once
    by the caller: its tokenizer loads once) when given."""
    from mmengine.dataset import Compose

    from mmstvg.utils import register_all_modules
    register_all_modules()
    return Compose([
        dict(type='GroundingDecordInit', num_threads=1, reuse_last=reuse_last),
        dict(type='UniformSampleFrames', num_frames=num_frames, test_mode=True),
        dict(type='GroundingDecordDecode', reuse_last=reuse_last),
        dict(type='GroundingResize', scale=(image_size, image_size), keep_ratio=False,
             interpolation='bicubic'),
        dict(type='PackGroundingInputs'),
    ] + ([tokenize] if tokenize is not None else []))


def decode_sentences(pipeline, video: str, sentences: Sequence[str]) -> List[dict]:
    """The pipeline's output for each sentence about ``video`` (no ground truth)."""
    from mmstvg.apis.inference_pipeline import build_inference_data_info
    outputs = []
    for index, sentence in enumerate(sentences):
        info = build_inference_data_info(video, sentence, index=index)
        info.update(video_path=video, sample_id=f'bench#{index}')
        for key in ('video_source', 'source_fps'):
            info.pop(key, None)
        outputs.append(pipeline(info))
    return outputs


class LLMTimer(PartTimer):
    """Wall time of the LLM part's calls: prompt passes (several tokens) apart
    from generation steps (one token a row); ``reset`` / ``remove`` as
    :class:`benchmark_infer.PartTimer`."""

    def __init__(self, llm, device):
        super().__init__(llm, {}, device)
        self.handles = [llm.register_forward_pre_hook(self._pre_call),
                        llm.register_forward_hook(self._post_call)]

    def _pre_call(self, module, args):
        kind = 'llm_prompt' if args[0].shape[1] > 1 else 'llm_generate'
        self._pre(kind)(module, args)

    def _post_call(self, module, args, output):
        kind = 'llm_prompt' if args[0].shape[1] > 1 else 'llm_generate'
        self._post(kind, kind)(module, args, output)


def _predictions(samples) -> List[tuple]:
    return [(s.pred_text, s.pred_boxes.float()) for s in samples]


def _same_predictions(a, b, atol: float = 1e-3) -> bool:
    return all(ta == tb and torch.allclose(ba, bb, atol=atol)
               for (ta, ba), (tb, bb) in zip(a, b))


def time_one_video(model, video: str, sentences: Sequence[str], num_frames: int,
                   image_size: int, device: torch.device, share: bool, timer_parts,
                   tokenize=None):
    """Seconds of each part for answering ``sentences`` about ``video`` once.

    ``tokenize``: the pipeline's ``TokenizeGroundingPrompt`` (its time counts
    in ``decode``, the pipeline's part, as in the dataloader's workers).

    Returns:
        ``(wall seconds, {part: seconds}, predictions, CPU seconds)``: the CPU
        time is the process's (all its threads), steadier than the wall time
        beside other jobs when torch runs one thread.
    """
    from mmengine.dataset import pseudo_collate
    vision_timer, llm_timer = timer_parts
    split: Dict[str, float] = defaultdict(float)
    tic, cpu_tic = time.perf_counter(), time.process_time()
    pipeline = decode_pipeline(num_frames, image_size, reuse_last=share, tokenize=tokenize)
    decode_tic = time.perf_counter()
    data = decode_sentences(pipeline, video, sentences)
    split['decode'] = time.perf_counter() - decode_tic
    model.share_video = share
    batches = [data] if share else [[item] for item in data]
    predictions = []
    vision_timer.reset()
    llm_timer.reset()
    with torch.no_grad():
        for batch in batches:
            predictions += model.test_step(pseudo_collate(batch))
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    total, cpu = time.perf_counter() - tic, time.process_time() - cpu_tic
    split.update(vision_timer.reset())
    split.update(llm_timer.reset())
    split['other'] = total - sum(split.values())
    return total, dict(split), _predictions(predictions), cpu


def benchmark_sharing(cfg_model: dict, args, device: torch.device,
                      sentences_per_video: int, repeats: int = 2) -> dict:
    """Alone vs shared on ``sentences_per_video`` sentences of one written video.

    Returns:
        A dict: ``sentences_per_s_alone`` / ``_shared``, ``speedup`` (wall
        time) and ``cpu_speedup`` (the process's CPU time), the
        median seconds split per part for each, ``same_predictions``, the
        fitted ``segment_cost_s`` (``a``) and ``sentence_cost_s`` (``b``), and
        the projected VidSTG test pass.
    """
    from mmstvg.datasets.transforms import TokenizeGroundingPrompt
    from mmstvg.registry import MODELS
    from mmstvg.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    # each sentence's prompt pieces from the pipeline, as tools/test.py gives them
    tokenize = TokenizeGroundingPrompt(model=copy.deepcopy(cfg_model), with_answer=False)
    model = MODELS.build(cfg_model).to(device).eval()
    model.max_new_tokens = args.sharing_new_tokens
    sentences = [SENTENCES[i % len(SENTENCES)] for i in range(sentences_per_video)]
    vision_timer = PartTimer(
        model, dict(vision=['vision_encoder', 'projector']), device)
    llm_timer = LLMTimer(model.llm, device)
    parts = (vision_timer, llm_timer)
    with tempfile.TemporaryDirectory() as tmp:
        video = write_benchmark_video(osp.join(tmp, 'bench.mp4'))
        time_one_video(model, video, sentences[:1], args.num_frames, args.image_size,
                       device, True, parts, tokenize)  # warm-up
        runs = defaultdict(list)
        for _ in range(repeats):
            for name, share, chosen in (('alone', False, sentences),
                                        ('shared', True, sentences),
                                        ('shared_1', True, sentences[:1])):
                runs[name].append(time_one_video(model, video, chosen, args.num_frames,
                                                 args.image_size, device, share, parts,
                                                 tokenize))
    vision_timer.remove()
    llm_timer.remove()

    def median(name):
        order = sorted(runs[name], key=lambda run: run[0])
        return order[len(order) // 2]

    alone, shared, single = median('alone'), median('shared'), median('shared_1')
    k = sentences_per_video
    per_sentence = (shared[0] - single[0]) / (k - 1) if k > 1 else shared[0]
    per_segment = single[0] - per_sentence
    alone_per_sentence = alone[0] / k
    result = dict(
        sentences_per_video=k, new_tokens=args.sharing_new_tokens,
        sentences_per_s_alone=k / alone[0], sentences_per_s_shared=k / shared[0],
        speedup=alone[0] / shared[0], cpu_speedup=alone[3] / shared[3],
        seconds_split_alone=alone[1], seconds_split_shared=shared[1],
        same_predictions=_same_predictions(alone[2], shared[2]),
        segment_cost_s=per_segment, sentence_cost_s=per_sentence)
    result.update(projected_test_pass(per_segment, per_sentence, alone_per_sentence,
                                      args.vidstg_ann))
    return result


def vidstg_segment_counts(ann_file: Optional[str]) -> Tuple[int, int, str]:
    """``(sentences, segments, source)`` of a VidSTG test file, or the public counts.

    Reads the raw public ``test_annotations.json`` (a list of videos with
    ``vid``, ``used_segment`` and ``captions`` / ``questions``) or TubeDETR's
    converted ``test.json`` (``{"videos": [...]}`` with ``original_video_id``
    and ``start_frame`` / ``end_frame``).
    """
    if ann_file is None:
        return VIDSTG_TEST_SENTENCES, VIDSTG_TEST_SEGMENTS, 'public test split counts'
    with open(ann_file) as f:
        data = json.load(f)
    segments, sentences = set(), 0
    if isinstance(data, dict) and 'videos' in data:  # TubeDETR's converted file
        for video in data['videos']:
            segments.add((video['original_video_id'], video['start_frame'],
                          video['end_frame']))
            sentences += 1
    elif isinstance(data, list):  # the raw public file
        for video in data:
            segment = video['used_segment']
            segments.add((video['vid'], segment['begin_fid'], segment['end_fid']))
            sentences += len(video.get('captions', [])) + len(video.get('questions', []))
    else:
        raise ValueError(f'{ann_file}: neither the raw VidSTG file (a list of videos) '
                         'nor TubeDETR\'s converted one ({"videos": [...]})')
    return sentences, len(segments), ann_file


def projected_test_pass(segment_cost: float, sentence_cost: float,
                        alone_per_sentence: float, ann_file: Optional[str]) -> dict:
    """A VidSTG test pass's model time alone and shared, from the fitted costs."""
    sentences, segments, source = vidstg_segment_counts(ann_file)
    alone = sentences * alone_per_sentence
    shared = segments * segment_cost + sentences * sentence_cost
    return dict(vidstg_source=source, vidstg_sentences=sentences,
                vidstg_segments=segments, vidstg_hours_alone=alone / 3600,
                vidstg_hours_shared=shared / 3600, vidstg_speedup=alone / shared)
