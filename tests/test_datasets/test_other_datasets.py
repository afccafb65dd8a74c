"""VidSTG, Charades-STA, RefCOCO and the Uni-STG mixture on tiny fixtures."""
import cv2
import numpy as np
import pytest

from mmstvg.datasets import (CONTRACT_KEYS, CharadesSTADataset,
                             RefCOCODataset, UniSTGDataset, VidSTGDataset)
from mmstvg.models.language.questions import QUESTION_TEMPLATES


def vidstg_annotations(track_frames=range(5, 10)):
    base = dict(original_video_id='123', frame_count=20, fps=10.0, width=32,
                height=32, start_frame=2, end_frame=18, tube_start_frame=6,
                tube_end_frame=9, video_path='0001/123.mp4', target_id=1)
    videos = [dict(base, caption='what is held by the man?', type='person',
                   video_id=0, qtype='interrogative'),
              dict(base, caption='a dog runs', type='dog', video_id=1,
                   qtype='declarative')]
    track = {str(f): dict(bbox=[f, 2, 10, 10], generated=0, tracker=0, category_id=1)
             for f in track_frames}
    return dict(videos=videos, trajectories={'123': {'1': track}})


@pytest.fixture
def vidstg_root(tmp_path, helpers):
    tmp_path = tmp_path / 'vidstg'
    (tmp_path / 'video' / '0001').mkdir(parents=True)
    helpers['write_video'](str(tmp_path / 'video' / '0001' / '123.mp4'))
    helpers['write_json'](str(tmp_path / 'train.json'), vidstg_annotations())
    return tmp_path


def test_vidstg(vidstg_root, make_pipeline):
    dataset = VidSTGDataset(data_root=str(vidstg_root), ann_file='train.json',
                            data_prefix=dict(video='video'),
                            pipeline=make_pipeline(num_frames=4), test_mode=True)
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert set(CONTRACT_KEYS) <= set(info)
    assert (info['sample_id'], info['video_id'], info['qtype']) == (
        '123#0', '123', 'interrogative')
    assert dataset.get_data_info(1)['qtype'] == 'declarative'
    assert info['gt_span_frames'] == [6, 9] and info['clip_span_frames'] == [2, 18]
    assert info['gt_span_seconds'] == pytest.approx((0.6, 0.9))
    assert info['gt_tube_frame_inds'].tolist() == [6, 7, 8]
    np.testing.assert_allclose(info['gt_tube_boxes'][0], [6, 2, 16, 12])
    sample = dataset[0]['data_samples']
    # Clip [2, 18): L=16, N=4, centres 2 + floor(2, 6, 10, 14).
    assert sample.metainfo['frame_inds'].tolist() == [4, 8, 12, 16]
    assert sample.gt_box_mask.tolist() == [False, True, False, False]
    np.testing.assert_allclose(sample.gt_boxes[1].numpy(), [8, 2, 18, 12])


@pytest.fixture
def charades_root(tmp_path, helpers):
    tmp_path = tmp_path / 'charades'
    (tmp_path / 'videos').mkdir(parents=True)
    helpers['write_video'](str(tmp_path / 'videos' / 'AB12.mp4'))  # 20 frames, 10 fps
    (tmp_path / 'sta.txt').write_text(
        'AB12 0.5 1.2##person opens the door.\n'
        'AB12 1.5 9.0##person sits down.\n'
        'AB12 2.5 3.0##person leaves.\n')
    helpers['write_json'](str(tmp_path / 'meta.json'), {
        'AB12': dict(num_frames=20, fps=10.0, height=32, width=32)})
    return tmp_path


@pytest.mark.parametrize('meta_file', ['meta.json', None])
def test_charades_sta(charades_root, meta_file, make_pipeline):
    dataset = CharadesSTADataset(data_root=str(charades_root), ann_file='sta.txt',
                                 meta_file=meta_file, data_prefix=dict(video='videos'),
                                 pipeline=make_pipeline(num_frames=4), test_mode=True)
    assert len(dataset) == 2 and dataset.num_dropped == 1  # 2.5 >= clipped end 2.0
    first, second = dataset.get_data_info(0), dataset.get_data_info(1)
    assert set(CONTRACT_KEYS) <= set(first)
    assert first['task'] == 'tvg' and first['sample_id'] == 'AB12#0'
    assert first['fps'] == pytest.approx(10.0) and first['num_frames'] == 20
    assert first['gt_span_seconds'] == pytest.approx((0.5, 1.2))
    assert first['gt_span_frames'] == [5, 12]
    assert second['gt_span_seconds'] == pytest.approx((1.5, 2.0))  # end clipped
    assert second['gt_span_frames'] == [15, 20]
    assert first['gt_tube_frame_inds'].shape == (0, )
    assert first['gt_tube_boxes'].shape == (0, 4)
    sample = dataset[0]['data_samples']
    assert sample.metainfo['frame_inds'].tolist() == [2, 7, 12, 17]
    assert not sample.gt_box_mask.any() and sample.gt_boxes.shape == (4, 4)


@pytest.fixture
def refcoco_root(tmp_path, helpers):
    tmp_path = tmp_path / 'refcoco'
    (tmp_path / 'train2014').mkdir(parents=True)
    image = np.zeros((24, 32, 3), dtype=np.uint8)
    image[:, :16] = (0, 0, 255)  # BGR: the left half is red
    cv2.imwrite(str(tmp_path / 'train2014' / 'COCO_1.png'), image)
    helpers['write_json'](str(tmp_path / 'final_refcoco_val.json'), dict(
        images=[dict(id=7, file_name='COCO_1.png', height=24, width=32,
                     caption='the red half', dataset_name='refcoco', original_id=1)],
        annotations=[dict(id=1, image_id=7, bbox=[0, 0, 16, 24], category_id=1,
                          area=384, iscrowd=0)]))
    return tmp_path


def test_refcoco_image_is_a_one_frame_video(refcoco_root, make_pipeline):
    dataset = RefCOCODataset(data_root=str(refcoco_root),
                             ann_file='final_refcoco_val.json',
                             data_prefix=dict(video='train2014'),
                             pipeline=make_pipeline(num_frames=64), test_mode=True)
    info = dataset.get_data_info(0)
    assert set(CONTRACT_KEYS) <= set(info)
    assert (info['task'], info['num_frames'], info['fps']) == ('rec', 1, 1.0)
    assert info['gt_span_frames'] == [0, 1] and info['dataset_name'] == 'refcoco'
    assert info['sample_id'] == 'COCO_1.png#7'
    np.testing.assert_allclose(info['gt_tube_boxes'], [[0, 0, 16, 24]])
    packed = dataset[0]
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.shape == (1, 3, 24, 32)
    # RGB order: the left half is red in channel 0.
    assert inputs[0, 0, :, :16].min() == 255 and inputs[0, 2, :, :16].max() == 0
    assert sample.metainfo['frame_inds'].tolist() == [0]
    assert sample.gt_box_mask.tolist() == [True]
    np.testing.assert_allclose(sample.gt_boxes.numpy(), [[0, 0, 16, 24]])
    named = RefCOCODataset(data_root=str(refcoco_root),
                           ann_file='final_refcoco_val.json',
                           data_prefix=dict(video='train2014'),
                           dataset_name='refcoco_val')
    assert named.get_data_info(0)['dataset_name'] == 'refcoco_val'


def test_unistg_mixture(hcstvg_file, video_dir, charades_root, refcoco_root,
                        make_pipeline):
    pipeline = make_pipeline(num_frames=4)
    mixture = UniSTGDataset(
        datasets=[
            dict(type='HCSTVGDataset', ann_file=hcstvg_file,
                 data_prefix=dict(video=str(video_dir)), pipeline=pipeline),
            dict(type='CharadesSTADataset', data_root=str(charades_root),
                 ann_file='sta.txt', meta_file='meta.json',
                 data_prefix=dict(video='videos'), pipeline=pipeline),
            dict(type='RefCOCODataset', data_root=str(refcoco_root),
                 ann_file='final_refcoco_val.json',
                 data_prefix=dict(video='train2014'), pipeline=pipeline),
        ],
        ratios=[2.0, 0.5, 1.0],
        prompt_templates=dict(tvg=['When: {sentence}']),
        test_mode=True)
    # 1 x 2.0 + 2 x 0.5 + 1 x 1.0 samples.
    assert len(mixture) == 4
    assert [mixture.locate(i)[0] for i in range(4)] == [0, 0, 1, 2]
    tasks = [mixture.get_data_info(i)['task'] for i in range(4)]
    assert tasks == ['stvg', 'stvg', 'tvg', 'rec']
    # the mixture hands over its task's templates, the pipeline picks one
    assert mixture.get_data_info(2)['question_templates'] == ['When: {sentence}']
    assert mixture.get_data_info(0)['question_templates'] == QUESTION_TEMPLATES['stvg']
    assert mixture[2]['data_samples'].metainfo['prompt_template'] == 'When: {sentence}'
    sample = mixture[3]['data_samples']
    assert sample.metainfo['task'] == 'rec'
    assert sample.metainfo['prompt_template'] in mixture.prompt_templates['rec']
    assert 'question_templates' not in sample.metainfo
    assert mixture.metainfo['dataset_names'] == ['hcstvg_v1', 'charades_sta', 'refcoco']
    assert mixture.locate(2) == mixture.locate(2)  # the fixed test-time subset
    # Training time: the Charades slot (ratio 0.5) draws either sample.
    mixture.test_mode = False
    np.random.seed(0)
    assert {mixture.locate(2) for _ in range(40)} == {(1, 0), (1, 1)}
    assert {mixture.locate(0) for _ in range(5)} == {(0, 0)}  # whole copies fixed


def test_question_template_is_chosen_in_the_pipeline(hcstvg_file, video_dir, make_pipeline):
    """ChooseQuestionTemplate: templates[sample_idx % n] at test time; at training
    time the worker's numpy RNG (seeded: the same picks again), uniform over the
    task's templates; a member pipeline that packs without it is refused."""
    from mmstvg.datasets.transforms import ChooseQuestionTemplate
    choose = ChooseQuestionTemplate()
    templates = ['a {sentence}', 'b {sentence}', 'c {sentence}']
    picks = [choose(dict(question_templates=templates, test_mode=True,
                         sample_idx=i))['prompt_template'] for i in range(4)]
    assert picks == templates + templates[:1]

    def train_picks(seed, count=300):
        np.random.seed(seed)
        return [choose(dict(question_templates=templates, test_mode=False,
                            sample_idx=0))['prompt_template'] for _ in range(count)]

    assert train_picks(1) == train_picks(1) != train_picks(2)
    counts = [train_picks(3).count(t) for t in templates]
    assert min(counts) > 70  # ~100 each of 300
    # outside a mixture: the sample's own template (or none) is kept
    assert choose(dict(prompt_template='own {sentence}')) == dict(
        prompt_template='own {sentence}')
    packs_only = [s for s in make_pipeline() if s['type'] != 'ChooseQuestionTemplate']
    with pytest.raises(ValueError, match='hcstvg_v1.*ChooseQuestionTemplate'):
        UniSTGDataset(datasets=[dict(type='HCSTVGDataset', ann_file=hcstvg_file,
                                     data_prefix=dict(video=str(video_dir)),
                                     pipeline=packs_only)])
