"""demo/gradio_app.py: its checks of bad input, and the page in headless Chromium.

The browser test starts the app on a free loopback port with the tiny model of
``conftest.py`` (trained a few steps, saved, loaded back through the app's
command line), drives Debian's Chromium with playwright (``executable_path``:
nothing is downloaded), watches the progress, and compares the spans, boxes and
JSON the page shows with the inferencer's own result for the same input. Outside
CI it is skipped, saying why, where gradio, playwright or Chromium is missing;
with ``CI=true`` it fails instead.

``MMSTVG_DEMO_MODEL="CONFIG CHECKPOINT"`` runs the browser test on that model
and the first example video (the README's screenshot comes from the toy model
this way), and ``MMSTVG_DEMO_SCREENSHOT=path.png`` keeps a small copy of the
page's screenshot there.
"""
import glob
import importlib.util
import json
import os
import os.path as osp
import shutil
import socket
import time
import urllib.error
import urllib.request

import decord
import pytest

from .conftest import NUM_SAMPLED

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CHROMIUM = os.environ.get('MMSTVG_CHROMIUM', '/usr/bin/chromium')
TWO_SENTENCES = ('the red circle moves left', 'the blue square moves right')


def _missing_or_skip(need_browser: bool) -> None:
    """Skip (fail under CI=true) when what the test needs is not installed."""
    missing = [f'the Python package {name}' for name in
               (('gradio', 'playwright') if need_browser else ('gradio', ))
               if importlib.util.find_spec(name) is None]
    if need_browser and not os.access(CHROMIUM, os.X_OK):
        missing.append(f'Chromium at {CHROMIUM} (Debian: apt-get install chromium)')
    if missing:
        reason = ('needs ' + ', '.join(missing) + ': `make setup` installs the packages '
                  '(requirements/demo.txt), .ci/run installs Chromium')
        if os.environ.get('CI') == 'true':
            pytest.fail(f'CI=true: {reason}')
        pytest.skip(reason)


@pytest.fixture(scope='module')
def app():
    """The demo script as a module."""
    _missing_or_skip(need_browser=False)
    spec = importlib.util.spec_from_file_location(
        'gradio_app', osp.join(REPO_ROOT, 'demo', 'gradio_app.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def config_file(tmp_path_factory, tiny_cfg):
    path = str(tmp_path_factory.mktemp('cfg') / 'tiny_grounder.py')
    tiny_cfg.dump(path)
    return path


@pytest.fixture(scope='module')
def video(synthetic_root):
    return sorted(glob.glob(osp.join(synthetic_root, 'videos', '*.mp4')))[0]


def no_progress(*args, **kwargs):
    """Stands in for gradio's progress bar outside a request."""


def test_sentences_one_per_line_and_their_limits(app):
    assert app.parse_sentences(' a dog\n\n  the red circle \n', 8, 5) == [
        'a dog', 'the red circle']
    cases = (('', 'at least one sentence'), ('\n  \n', 'at least one sentence'),
             ('a\nb\nc', '3 sentences: this page grounds at most 2'),
             ('a\none two three four five six', 'Sentence 2 has 6 words; the model '
              'takes at most 5'),
             ('x' * (app.MAX_SENTENCE_CHARS + 1), 'more than 1000'))
    for text, message in cases:
        with pytest.raises(app.DemoInputError, match=message):
            app.parse_sentences(text, 2, 5)
    assert app.parse_sentences('one two three four five six', 2, None)  # no budget


def test_bad_videos_get_a_message_naming_the_file_alone(app, video, tmp_path):
    facts = app.check_video(video, max_seconds=60)
    reader = decord.VideoReader(video)
    assert facts['num_frames'] == len(reader) >= 10
    assert facts['seconds'] == pytest.approx(len(reader) / reader.get_avg_fps())
    (tmp_path / 'notes.mp4').write_text('not a video')
    (tmp_path / 'empty.mp4').write_bytes(b'')
    with open(video, 'rb') as file:
        (tmp_path / 'cut.mp4').write_bytes(file.read()[:600])
    shutil.copy(video, tmp_path / 'long.mp4')
    (tmp_path / 'frame.png').write_bytes(b'')
    cases = (('notes.mp4', 60, 'notes.mp4 is not a video that can be read'),
             ('empty.mp4', 60, 'empty.mp4 is not a video that can be read'),
             ('cut.mp4', 60, 'cut.mp4 is not a video that can be read'),
             ('long.mp4', 1.0, r'long.mp4 lasts 1\.\d+ s; this page takes videos of at '
              'most 1 s'),
             ('frame.png', 60, 'frame.png is an image'))
    for name, limit, message in cases:
        with pytest.raises(app.DemoInputError, match=message) as error:
            app.check_video(str(tmp_path / name), limit)
        assert str(tmp_path) not in str(error.value)  # no server path on the page
    with pytest.raises(app.DemoInputError, match='Upload a video'):
        app.check_video(None, 60)


def test_ground_answers_every_input_and_matches_the_inferencer(app, config_file,
                                                                trained_checkpoint,
                                                                video, tmp_path,
                                                                monkeypatch):
    from mmstvg.apis import GroundingInferencer
    inferencer = GroundingInferencer(config_file, trained_checkpoint, device='cpu')
    demo = app.GroundingDemo(inferencer, max_video_seconds=60, max_sentences=4)
    (tmp_path / 'notes.mp4').write_text('not a video')
    for args, message in (((video, ''), 'Type at least one sentence'),
                          ((None, 'a dog'), 'Upload a video'),
                          ((str(tmp_path / 'notes.mp4'), 'a dog'), 'is not a video'),
                          ((video, 'a ' * 300), 'the model takes at most 256')):
        status, *outputs = demo.ground(*args, progress=no_progress)
        assert 'mmstvg-error' in status and message in status, status
        assert outputs == [None, '', None, '', None]
    # the model's own failure is a message too, and the next request is served
    def out_of_memory(*args, **kwargs):
        raise RuntimeError(f'out of memory reading {video}\nmore lines')

    monkeypatch.setattr(inferencer.model, 'test_step', out_of_memory)
    status = demo.ground(video, 'a dog', progress=no_progress)[0]
    monkeypatch.undo()
    assert status == ('<p class="mmstvg-error">The model could not ground this input '
                      f'(RuntimeError: out of memory reading {osp.basename(video)}).</p>')
    # two sentences: one batch, the vision tower runs on the video's frames once
    encoded = []
    tower = inferencer.model.vision_encoder.forward

    def count_frames(frames, *args, **kwargs):
        encoded.append(len(frames))
        return tower(frames, *args, **kwargs)

    monkeypatch.setattr(inferencer.model.vision_encoder, 'forward', count_frames)
    status, video_file, legend, strip, table, json_file = demo.ground(
        video, '\n'.join(TWO_SENTENCES), progress=no_progress)
    monkeypatch.undo()
    assert 'Grounded 2 sentences' in status
    assert sum(encoded) == NUM_SAMPLED  # not 2 x: the sentences share the video
    with open(json_file) as file:
        shown = json.load(file)
    expected = inferencer([video] * 2, list(TWO_SENTENCES), batch_size=2)['predictions']
    assert shown == dict(predictions=expected)
    # sharing changes no answer: each sentence alone gives the same span
    for result, sentence in zip(expected, TWO_SENTENCES):
        alone = inferencer(video, sentence)['predictions'][0]
        assert alone['span_frames'] == result['span_frames']
        assert alone['answer_text'] == result['answer_text']
    assert len(decord.VideoReader(video_file)) == len(decord.VideoReader(video))
    assert legend.count('class="item"') == 2 and table.count('<tr data-frame=') == len(
        {f['frame_index'] for f in expected[0]['frames']})


def test_cfg_options_reach_the_model(app, config_file, trained_checkpoint):
    args = app.parse_args([config_file, trained_checkpoint, '--device', 'cpu',
                           '--cfg-options', 'model.max_new_tokens=3'])
    assert (args.host, args.port) == ('127.0.0.1', 7860)  # this machine only
    assert app.build_inferencer(args).model.max_new_tokens == 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _fetch(url: str, path: str) -> str:
    assert url.startswith('http://127.0.0.1:'), url  # the page's own files only
    with urllib.request.urlopen(url, timeout=30) as response, open(path, 'wb') as out:
        out.write(response.read())
    return path


def _upload(base: str, path: str) -> str:
    """Upload a file as the page does; returns the server's path of it."""
    boundary = 'mmstvg-test-boundary'
    with open(path, 'rb') as file:
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="{osp.basename(path)}"\r\nContent-Type: video/mp4\r\n\r\n'
                ).encode() + file.read() + f'\r\n--{boundary}--\r\n'.encode()
    request = urllib.request.Request(
        f'{base}/gradio_api/upload', data=body,
        headers={'Content-Type': f'multipart/form-data; boundary={boundary}'})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)[0]


def _call_ground(base: str, path: str, sentence: str) -> str:
    """Call the Ground button through gradio's HTTP API naming a file path;
    returns the event stream's text."""
    body = json.dumps({'data': [{'path': path, 'meta': {'_type': 'gradio.FileData'}},
                                sentence]}).encode()
    request = urllib.request.Request(f'{base}/gradio_api/call/ground', data=body,
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as response:
        event = json.load(response)['event_id']
    with urllib.request.urlopen(f'{base}/gradio_api/call/ground/{event}',
                                timeout=60) as response:
        return response.read().decode()


def _model_and_input(request, synthetic_root):
    """The model, the video and the sentences the browser test uses."""
    given = os.environ.get('MMSTVG_DEMO_MODEL')
    if given:
        config, checkpoint = given.split()
        with open(osp.join(REPO_ROOT, 'demo', 'resources', 'examples',
                           'examples.json')) as file:
            name, sentences = next(iter(json.load(file).items()))
        return (config, checkpoint,
                osp.join(REPO_ROOT, 'demo', 'resources', 'examples', name), sentences)
    return (request.getfixturevalue('config_file'),
            request.getfixturevalue('trained_checkpoint'),
            request.getfixturevalue('video'), list(TWO_SENTENCES))


def _save_small_png(source: str, target: str, width: int = 1000) -> None:
    """The screenshot for the docs: ``width`` px wide, 128 colours."""
    from PIL import Image
    image = Image.open(source).convert('RGB')
    image = image.resize((width, round(image.height * width / image.width)),
                         Image.LANCZOS)
    image.quantize(128).save(target, optimize=True)


def test_the_page_in_a_browser(app, request, synthetic_root, tmp_path, monkeypatch):
    _missing_or_skip(need_browser=True)
    from playwright.sync_api import sync_playwright

    from mmstvg.apis import GroundingInferencer
    config, checkpoint, video, sentences = _model_and_input(request, synthetic_root)
    # each model pass lasts at least 1 s, so that the progress can be seen
    forward = GroundingInferencer.forward

    def slow_forward(self, *args, **kwargs):
        time.sleep(1.0)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(GroundingInferencer, 'forward', slow_forward)
    port = _free_port()
    started = time.time()
    page_app = app.serve([config, checkpoint, '--device', 'cpu', '--port', str(port),
                          '--max-upload-mb', '5'], block=False)
    try:
        assert page_app.local_url.startswith(f'http://127.0.0.1:{port}')
        base = page_app.local_url.rstrip('/')
        # a request may name only a file it uploaded, never another path of the server
        uploaded = _upload(base, video)
        assert uploaded != video and osp.basename(uploaded) == osp.basename(video)
        answer = _call_ground(base, uploaded, sentences[0])
        assert answer.startswith('event: complete') and 'Grounded 1 sentence' in answer
        for named in (video, osp.join(REPO_ROOT, 'README.md')):
            answer = _call_ground(base, named, sentences[0])
            assert answer.startswith('event: error') and 'Grounded' not in answer
        # uploads are capped (--max-upload-mb 5)
        large = tmp_path / 'large.mp4'
        large.write_bytes(b'\0' * (6 * 1024 * 1024))
        with pytest.raises(urllib.error.HTTPError) as refused:
            _upload(base, str(large))
        assert refused.value.code == 413
        bad = tmp_path / 'holiday.mp4'
        bad.write_text('not a video, only text')
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_page(viewport={'width': 1280, 'height': 1000})
            page.set_default_timeout(120_000)
            requested = []  # the page loads nothing from outside the server
            page.on('request', lambda request: requested.append(request.url))
            page.goto(page_app.local_url, wait_until='networkidle')

            # a file that is no video: a message on the page, no trace
            page.locator('#video_in input[type=file]').set_input_files(str(bad))
            page.locator('#video_in').get_by_label('holiday.mp4').wait_for()
            page.locator('#sentences textarea').fill(sentences[0])
            page.locator('#ground').click()
            error = page.locator('#status .mmstvg-error')
            error.wait_for()
            assert error.inner_text().startswith(
                'holiday.mp4 is not a video that can be read'), error.inner_text()
            assert 'Traceback' not in page.inner_text('body')

            # the server goes on: the real video and two sentences
            page.reload(wait_until='networkidle')
            page.locator('#video_in input[type=file]').set_input_files(video)
            page.locator('#video_in').get_by_label(osp.basename(video)).wait_for()
            page.locator('#sentences textarea').fill('\n'.join(sentences))
            page.locator('#ground').click()
            # progress while it runs: the model's one pass over the video
            page.get_by_text('grounding 2 sentences: one pass over the video').first.wait_for()
            page.locator('#status .mmstvg-done').wait_for()
            assert page.locator('#status .mmstvg-error').count() == 0

            # the grounded video plays in the browser ...
            player = page.locator('#video_out video')
            player.wait_for()
            page.wait_for_function(
                "document.querySelector('#video_out video').readyState >= 2")
            played = player.evaluate('v => [v.videoWidth, v.videoHeight, v.duration]')
            source = decord.VideoReader(video)
            num_frames, fps = len(source), source.get_avg_fps()
            assert played[0] > 0 and played[1] > 0
            assert played[2] == pytest.approx(num_frames / fps, abs=1.5 / fps)
            # ... and holds every frame of the input
            written = decord.VideoReader(_fetch(player.get_attribute('src'),
                                                str(tmp_path / 'grounded.webm')))
            assert len(written) == num_frames

            # the page shows the inferencer's spans and boxes for the same input
            inferencer = GroundingInferencer(config, checkpoint, device='cpu')
            expected = inferencer([video] * 2, sentences, batch_size=2)['predictions']
            items = page.locator('#legend .item')
            assert items.count() == 2
            for k, result in enumerate(expected):
                item = items.nth(k)
                assert item.locator('.sentence').inner_text() == sentences[k]
                shown = [float(item.get_attribute('data-start')),
                         float(item.get_attribute('data-end'))]
                assert shown == result['span_seconds']
                start, end = result['span_seconds']
                assert item.locator('.seconds').inner_text() == (
                    f'{start:.2f} s \u2013 {end:.2f} s')
            rows = page.locator('#boxes tr[data-frame]')
            frames = {f['frame_index'] for f in expected[0]['frames']}
            assert rows.count() == len(frames)
            for k, result in enumerate(expected):
                by_frame = {f['frame_index']: f for f in result['frames']}
                boxed = 0
                for row in range(rows.count()):
                    index = int(rows.nth(row).get_attribute('data-frame'))
                    cell = rows.nth(row).locator(f'td[data-sentence="{k}"]')
                    box = json.loads(cell.get_attribute('data-box'))
                    frame = by_frame[index]
                    assert box == (frame['box_xyxy'] if frame['in_span'] else None)
                    boxed += box is not None
                assert boxed == sum(f['in_span'] for f in result['frames'])

            # the JSON download is the inferencer's result
            link = page.locator('#json_out a').first
            with open(_fetch(link.get_attribute('href'), str(tmp_path / 'g.json'))) as f:
                downloaded = json.load(f)['predictions']
            for got, want in zip(downloaded, expected):
                assert osp.basename(got.pop('video')) == osp.basename(want.pop('video'))
                assert got == want
            assert len(downloaded) == 2

            # the picture of the sampled frames is there; then the page's picture
            assert page.locator('#strip img').count() == 1
            shown_at = max(0.0, min(expected[0]['span_seconds'][0] + 0.5,
                                    num_frames / fps - 0.1))
            player.evaluate(f'v => {{ v.pause(); v.currentTime = {shown_at}; }}')
            page.wait_for_function(
                "document.querySelector('#video_out video').readyState >= 2")
            screenshot = str(tmp_path / 'gradio_app.png')
            page.screenshot(path=screenshot, full_page=True)
            browser.close()
        outside = [url for url in requested
                   if not url.startswith((base + '/', 'data:', 'blob:'))]
        assert requested and not outside, outside
        assert osp.getsize(screenshot) > 10_000
        if os.environ.get('MMSTVG_DEMO_SCREENSHOT'):
            _save_small_png(screenshot, os.environ['MMSTVG_DEMO_SCREENSHOT'])
    finally:
        page_app.close()
    print(f'browser test: {time.time() - started:.1f} s')
