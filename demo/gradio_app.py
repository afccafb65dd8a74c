"""A web page that grounds sentences in a video: upload it, type sentences, press Ground.

Usage::

    python demo/gradio_app.py CONFIG CHECKPOINT [--device cpu] [--host 127.0.0.1]
        [--port 7860] [--max-upload-mb 100] [--max-video-seconds 120]
        [--max-sentences 8] [--cfg-options model.llm.param_dtype=bf16 ...]

then open http://127.0.0.1:7860. The page takes a video (an upload, or one of
the examples in ``demo/resources/examples``) and one sentence per line, and
shows, for all sentences at once:

- the grounded video: every frame, each sentence's tube in its own colour,
  one footer per sentence under the frame (its span on a time bar); under the
  player a legend with each sentence's colour, its span in seconds and the
  span as a bar over the video's length;
- the sampled frames the model saw, with every sentence's own boxes, and a
  table of those boxes (pixels of the original video, clipped to the frame);
- the result as JSON to download: ``{"predictions": [...]}``, one dict per
  sentence: what ``GroundingInferencer(...)([video] * K, sentences,
  batch_size=K)`` returns.

All sentences go to ``GroundingInferencer`` as one batch, so the model's
shared-video path (issue 31, ``share_video``) runs the vision parts and the
video's prompt prefix once for all of them. Drawing is the library's
(``GroundingInferencer.write_tubes_video`` and ``draw_sampled_tubes``, i.e.
``GroundingVisualizer``).

Bad input (not a video, a broken or empty video, a video over
``--max-video-seconds``, no sentence, too many, an over-long one) gets a
message on the page and the server goes on. Uploads are capped at
``--max-upload-mb``. The server listens on 127.0.0.1 unless ``--host`` says
otherwise, and reads only the files the page uploads (and the examples).
"""
import argparse
import atexit
import html
import json
import logging
import os
import os.path as osp
import shutil
import sys
import tempfile
from typing import List, Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # configs may import `projects.*`
    sys.path.insert(0, REPO_ROOT)
# No usage statistics sent from the server (nothing leaves the machine).
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')

import cv2  # noqa: E402
import gradio as gr  # noqa: E402

from mmstvg.utils.runtime_patches import apply_runtime_patches  # noqa: E402

# First, before the imports below load mmengine.runner: safe checkpoint loading,
# atomic writes, the message filters.
apply_runtime_patches()

from mmstvg.apis import (GroundingInferencer, open_video_source,  # noqa: E402
                         prediction_to_dict, sentence_color)
from mmstvg.datasets.transforms.loading import IMAGE_EXTENSIONS  # noqa: E402
from mmstvg.utils import atomic_write  # noqa: E402
from mmstvg.utils.config_options import ConfigOptionsAction  # noqa: E402
from mmstvg.utils.repo_paths import load_config  # noqa: E402

logger = logging.getLogger('mmstvg.gradio_app')

EXAMPLES_DIR = osp.join(REPO_ROOT, 'demo', 'resources', 'examples')
#: Characters a sentence may have (besides the model's word budget).
MAX_SENTENCE_CHARS = 1000
#: Frames narrower than this are enlarged for the video (footers readable) ...
VIDEO_MIN_WIDTH = 384
#: ... and wider ones shrunk: encoding VP8 costs ~20 ms a 640 x 360 frame on a core.
VIDEO_MAX_WIDTH = 640
#: Width of each sampled frame in the picture of the sampled frames.
STRIP_FRAME_WIDTH = 192
#: Sampled frames a row in that picture.
STRIP_COLUMNS = 8
#: Finished requests whose files are kept for the page to fetch.
KEEP_REQUESTS = 16

CSS = """
.mmstvg-legend .item {margin: 4px 0 10px 0;}
.mmstvg-legend .swatch {display: inline-block; width: 14px; height: 14px;
  border-radius: 3px; vertical-align: middle; margin-right: 6px;}
.mmstvg-legend .seconds {font-variant-numeric: tabular-nums; margin-left: 8px;}
.mmstvg-legend .bar {position: relative; height: 10px; background: #ddd;
  border-radius: 3px; margin-top: 3px;}
.mmstvg-legend .fill {position: absolute; top: 0; height: 10px; border-radius: 3px;}
.mmstvg-boxes td, .mmstvg-boxes th {padding: 2px 8px; text-align: right;
  font-variant-numeric: tabular-nums;}
.mmstvg-error {color: #b00020; font-weight: 600;}
"""


class DemoInputError(ValueError):
    """Input the page refuses, with the message it shows."""


def rgb(color: Sequence[int]) -> str:
    return 'rgb({}, {}, {})'.format(*(int(c) for c in color))


def parse_sentences(text: Optional[str], max_sentences: int,
                    max_words: Optional[int]) -> List[str]:
    """The sentences of the text box: one per non-blank line, stripped.

    Args:
        text: the text box's content.
        max_sentences: how many sentences one request may ask.
        max_words: the model's word budget a sentence (None: none).

    Returns:
        The sentences, in order.

    Raises:
        DemoInputError: no sentence, too many, or one over a budget.
    """
    sentences = [line.strip() for line in (text or '').splitlines() if line.strip()]
    if not sentences:
        raise DemoInputError('Type at least one sentence (one per line).')
    if len(sentences) > max_sentences:
        raise DemoInputError(f'{len(sentences)} sentences: this page grounds at most '
                             f'{max_sentences} at a time.')
    for number, sentence in enumerate(sentences, 1):
        if len(sentence) > MAX_SENTENCE_CHARS:
            raise DemoInputError(f'Sentence {number} has {len(sentence)} characters, '
                                 f'more than {MAX_SENTENCE_CHARS}.')
        words = len(sentence.split())
        if max_words is not None and words > max_words:
            raise DemoInputError(f'Sentence {number} has {words} words; the model takes '
                                 f'at most {max_words}.')
    return sentences


def check_video(path: Optional[str], max_seconds: Optional[float]) -> dict:
    """Open the uploaded video and check it before the model sees it.

    Args:
        path: the uploaded file (None: nothing uploaded).
        max_seconds: the longest video accepted (None: any).

    Returns:
        ``{'num_frames', 'fps', 'seconds'}``.

    Raises:
        DemoInputError: naming the file by its name alone (not the server's
            path): no video, an image, a file that is not a readable video, a
            video without frames or longer than ``max_seconds``.
    """
    if not path:
        raise DemoInputError('Upload a video, or pick one of the examples.')
    name = osp.basename(path)
    if osp.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
        raise DemoInputError(f'{name} is an image; this page grounds sentences in videos.')
    try:
        reader = open_video_source(path, 'stvg', name=name, max_video_seconds=None)
        num_frames, fps = len(reader), float(reader.get_avg_fps())
        if num_frames > 0:
            reader.get_batch([0, num_frames - 1])  # a broken stream fails here
    except Exception as error:  # decord raises RuntimeError, DECORDError ...
        reason = str(error).replace(path, name).strip().splitlines()
        reason = reason[0].rstrip('. ') if reason else ''
        raise DemoInputError(f'{name} is not a video that can be read'
                             f'{": " + reason if reason else ""}.') from None
    if num_frames == 0 or not fps > 0:
        raise DemoInputError(f'{name} has no frames (or no frame rate).')
    seconds = num_frames / fps
    if max_seconds is not None and seconds > max_seconds:
        raise DemoInputError(f'{name} lasts {seconds:.1f} s; this page takes videos of '
                             f'at most {max_seconds:g} s.')
    return dict(num_frames=num_frames, fps=fps, seconds=seconds)


def legend_html(results: List[dict], seconds: float) -> str:
    """Each sentence's colour, text, span in seconds and span bar (HTML)."""
    items = []
    for index, result in enumerate(results):
        color = rgb(sentence_color(index))
        start, end = result['span_seconds']
        if result['parse_ok']:
            shown = f'{start:.2f} s &ndash; {end:.2f} s'
            left = 100.0 * min(max(start / seconds, 0.0), 1.0)
            width = max(100.0 * min(max(end / seconds, 0.0), 1.0) - left, 0.0)
            fill = (f'<div class="fill" style="left: {left:.2f}%; width: {width:.2f}%; '
                    f'background: {color};"></div>')
        else:
            shown, fill = 'no parsable answer', ''
        items.append(
            f'<div class="item" data-index="{index}" data-start="{start!r}" '
            f'data-end="{end!r}" data-parse-ok="{str(result["parse_ok"]).lower()}">'
            f'<span class="swatch" style="background: {color};"></span>'
            f'<span class="sentence">{html.escape(result["sentence"])}</span>'
            f'<span class="seconds">{shown}</span>'
            f'<div class="bar" title="0 s - {seconds:.2f} s">{fill}</div></div>')
    return ('<div class="mmstvg-legend"><b>Sentences</b> (bar: the span over the '
            f'video\'s {seconds:.2f} s)' + ''.join(items) + '</div>')


def boxes_html(results: List[dict]) -> str:
    """A table of the sampled frames: time, and each sentence's box where the
    frame lies in its span (pixels of the original video; the score after it)."""
    frame_times = {}
    for result in results:
        for frame in result['frames']:
            frame_times.setdefault(frame['frame_index'], frame['time'])
    head = ''.join(
        f'<th><span class="swatch" style="display: inline-block; width: 10px; '
        f'height: 10px; background: {rgb(sentence_color(k))};"></span> {k + 1}</th>'
        for k in range(len(results)))
    rows = []
    for index in sorted(frame_times):
        cells = []
        for k, result in enumerate(results):
            frame = next((f for f in result['frames'] if f['frame_index'] == index), None)
            if frame is None or not frame['in_span'] or frame['box_xyxy'] is None:
                cells.append(f'<td data-sentence="{k}" data-box="null">&ndash;</td>')
                continue
            box = ', '.join(f'{v:.1f}' for v in frame['box_xyxy'])
            score = '' if frame['score'] is None else f' ({frame["score"]:.2f})'
            cells.append(f'<td data-sentence="{k}" '
                         f'data-box="{html.escape(json.dumps(frame["box_xyxy"]))}">'
                         f'{box}{score}</td>')
        rows.append(f'<tr data-frame="{index}"><td>{index}</td>'
                    f'<td>{frame_times[index]:.2f}</td>{"".join(cells)}</tr>')
    return ('<table class="mmstvg-boxes"><thead><tr><th>frame</th><th>time (s)</th>'
            f'{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


class GroundingDemo:
    """The page's work: check the input, ground each sentence, draw, write files.

    Args:
        inferencer: the model.
        max_video_seconds: the longest video accepted (None: any).
        max_sentences: sentences one request may ask.
    """

    def __init__(self, inferencer: GroundingInferencer,
                 max_video_seconds: Optional[float] = 120.0, max_sentences: int = 8):
        self.inferencer = inferencer
        self.max_video_seconds = max_video_seconds
        self.max_sentences = max_sentences
        rules = inferencer.sentence_cfg
        # a model that cuts long sentences takes any length
        self.max_words = (rules['max_sentence_words']
                          if rules['long_sentence'] == 'error' else None)
        self.work_dir = tempfile.mkdtemp(prefix='mmstvg_gradio_')
        atexit.register(shutil.rmtree, self.work_dir, True)
        self._requests: List[str] = []

    def _request_dir(self) -> str:
        """A new folder for one request's files; the oldest beyond
        ``KEEP_REQUESTS`` are removed."""
        folder = tempfile.mkdtemp(dir=self.work_dir)
        self._requests.append(folder)
        while len(self._requests) > KEEP_REQUESTS:
            shutil.rmtree(self._requests.pop(0), ignore_errors=True)
        return folder

    def ground(self, video: Optional[str], text: Optional[str],
               progress=gr.Progress()) -> tuple:
        """The Ground button: ``(status, video, legend, frames picture,
        boxes table, JSON file)``. Never raises: a failure is a message."""
        try:
            return self._ground(video, text, progress)
        except DemoInputError as error:
            return self._failure(str(error))
        except Exception as error:  # the model's or the drawing's: said, not shown
            logger.exception('grounding failed')  # the traceback goes to the server's log
            lines = str(error).strip().splitlines()
            reason = lines[0] if lines else ''
            if video:
                reason = reason.replace(video, osp.basename(video))
            return self._failure(f'The model could not ground this input '
                                 f'({type(error).__name__}{": " + reason if reason else ""}).')

    @staticmethod
    def _failure(message: str) -> tuple:
        return (f'<p class="mmstvg-error">{html.escape(message)}</p>', None, '', None, '',
                None)

    def _ground(self, video: Optional[str], text: Optional[str], progress) -> tuple:
        sentences = parse_sentences(text, self.max_sentences, self.max_words)
        progress(0.0, desc='reading the video')
        facts = check_video(video, self.max_video_seconds)
        count = len(sentences)
        progress(0.1, desc=f'grounding {count} sentence{"s" if count > 1 else ""}: '
                 'one pass over the video')
        # One batch: the model shares the video's vision pass and prompt prefix
        # between the sentences (VideoGroundingLLM's share_video).
        samples = self.inferencer([video] * count, sentences, batch_size=count,
                                  return_datasamples=True)['predictions']
        results = [prediction_to_dict(sample) for sample in samples]
        folder = self._request_dir()
        progress(0.5, desc='drawing the video')
        video_file = osp.join(folder, 'grounded.webm')
        self.inferencer.write_tubes_video(video, samples, video_file,
                                          min_width=VIDEO_MIN_WIDTH,
                                          max_width=VIDEO_MAX_WIDTH, fourcc='VP80')
        progress(0.9, desc='drawing the sampled frames')
        drawn = self.inferencer.draw_sampled_tubes(video, samples,
                                                   min_width=STRIP_FRAME_WIDTH)
        strip = self.inferencer.visualizer.make_grid(
            drawn, ncols=min(len(drawn), STRIP_COLUMNS))
        strip_file = osp.join(folder, 'sampled_frames.png')
        cv2.imwrite(strip_file, strip[..., ::-1])
        json_file = osp.join(folder, 'grounding.json')
        atomic_write(json.dumps(dict(predictions=results), indent=1), json_file)
        status = (f'<p class="mmstvg-done">Grounded {len(sentences)} '
                  f'sentence{"s" if len(sentences) > 1 else ""} in '
                  f'{html.escape(osp.basename(video))} ({facts["num_frames"]} frames, '
                  f'{facts["seconds"]:.2f} s).</p>')
        return (status, video_file, legend_html(results, facts['seconds']), strip_file,
                boxes_html(results), json_file)


def load_examples(folder: str = EXAMPLES_DIR) -> List[list]:
    """``[video path, sentences]`` of the example videos (``examples.json``
    beside them: file name -> sentences); none where there is no such file."""
    index = osp.join(folder, 'examples.json')
    if not osp.isfile(index):
        return []
    with open(index) as file:
        listed = json.load(file)
    return [[osp.join(folder, name), '\n'.join(sentences)]
            for name, sentences in listed.items() if osp.isfile(osp.join(folder, name))]


def build_page(demo: GroundingDemo, examples: Optional[List[list]] = None) -> gr.Blocks:
    """The page: inputs on the left, the grounded video and legend on the right,
    the sampled frames, their boxes and the JSON below."""
    # delete_cache: gradio's copies of uploads and results older than an hour go
    # (checked hourly), so that a long-running server does not fill its disk.
    with gr.Blocks(title='mmstvg: ground sentences in a video', analytics_enabled=False,
                   delete_cache=(3600, 3600)) as page:
        gr.Markdown('## mmstvg: spatio-temporal video grounding\n'
                    'Upload a video (or pick an example), type one sentence per line, '
                    'press **Ground**: each sentence gets *when* (a span) and *where* '
                    '(a box on each frame of the span), in its own colour.')
        with gr.Row():
            with gr.Column():
                # A file, not a player: any container the model reads (an mp4 of
                # OpenCV's mp4v, an avi) uploads, whether or not a browser plays it.
                video_in = gr.File(label='Video', file_types=['video'], type='filepath',
                                   elem_id='video_in')
                text_in = gr.Textbox(label='Sentences, one per line', lines=4,
                                     elem_id='sentences',
                                     placeholder='the red circle moves left')
                button = gr.Button('Ground', variant='primary', elem_id='ground')
                status = gr.HTML(elem_id='status')
            with gr.Column():
                video_out = gr.Video(label='Grounded video', interactive=False,
                                     elem_id='video_out', loop=True)
                legend = gr.HTML(elem_id='legend')
        strip = gr.Image(label='Sampled frames: the boxes the model gave', type='filepath',
                         interactive=False, elem_id='strip')
        table = gr.HTML(elem_id='boxes')
        json_out = gr.File(label='Result (JSON)', interactive=False, elem_id='json_out')
        if examples:
            gr.Examples(examples=examples, inputs=[video_in, text_in], label='Examples')
        button.click(demo.ground, inputs=[video_in, text_in],
                     outputs=[status, video_out, legend, strip, table, json_out],
                     concurrency_limit=1, api_name='ground')
    return page


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Serve a page that grounds sentences '
                                     'in a video with a trained checkpoint.')
    parser.add_argument('config', help='the model config')
    parser.add_argument('checkpoint', help='the checkpoint')
    parser.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:0' ...")
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default: this machine only; '
                        '0.0.0.0 serves every network the machine is on)')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--max-upload-mb', type=float, default=100.0,
                        help='largest upload accepted, in MB')
    parser.add_argument('--max-video-seconds', type=float, default=120.0,
                        help='longest video accepted, in seconds (drawing and encoding '
                        'the grounded video takes ~0.6 s a second of 25 fps video)')
    parser.add_argument('--max-sentences', type=int, default=8,
                        help='sentences one request may ask (one batch: at 7B each '
                        'holds a copy of the video prefix\'s KV cache, ~0.78 GB)')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override settings of the config, key=value pairs (e.g. '
                        'model.llm.param_dtype=bf16: a trainable LLM is otherwise '
                        'stored in fp32)')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='fully unpickle the checkpoint (only for files you trust)')
    parser.add_argument('--no-examples', action='store_true',
                        help='leave out the example videos')
    return parser.parse_args(argv)


def build_inferencer(args: argparse.Namespace) -> GroundingInferencer:
    """The model of the command line: the config with its ``--cfg-options``,
    the checkpoint loaded without unpickling code (unless ``--unsafe-load``)."""
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return GroundingInferencer(cfg, args.checkpoint, device=args.device,
                               unsafe_load=args.unsafe_load)


def serve(argv=None, block: bool = True) -> gr.Blocks:
    """Build the model and the page and start the server.

    Args:
        argv: the command line (None: ``sys.argv``).
        block: serve until interrupted; False returns once the server runs
            (``page.close()`` stops it; the tests do this).

    Returns:
        The running page (``page.local_url`` is its address).
    """
    args = parse_args(argv)
    demo = GroundingDemo(build_inferencer(args), args.max_video_seconds,
                         args.max_sentences)
    page = build_page(demo, None if args.no_examples else load_examples())
    # System fonts: the page loads nothing from outside the server.
    theme = gr.themes.Default(font=['ui-sans-serif', 'system-ui', 'sans-serif'],
                              font_mono=['ui-monospace', 'monospace'])
    page.queue(default_concurrency_limit=1)
    page.launch(server_name=args.host, server_port=args.port,
                max_file_size=f'{args.max_upload_mb:g}mb', prevent_thread_lock=not block,
                show_error=False, quiet=not block, theme=theme, css=CSS, ssr_mode=False,
                footer_links=[])
    return page


if __name__ == '__main__':
    serve()
