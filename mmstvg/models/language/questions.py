"""The question texts, one copy each: the per-task default question and the
Uni-STG mixture's question templates.

A question is a text with a ``{sentence}`` field, which the prompt builder
fills with the sample's sentence (after text transforms such as the flip's
left/right swap). :data:`DEFAULT_QUESTIONS` is what
:class:`~mmstvg.models.language.PromptBuilder` asks when a sample names no
template; :data:`QUESTION_TEMPLATES` are the alternatives a Uni-STG mixture
offers per task, one of which the pipeline's
:class:`~mmstvg.datasets.transforms.ChooseQuestionTemplate` picks per sample
(metainfo ``prompt_template``).
"""
from typing import Dict, List

__all__ = ['DEFAULT_QUESTIONS', 'QUESTION_TEMPLATES', 'QUESTION_TEMPLATES_KEY']

#: The data-info key under which a mixture hands a sample its task's templates.
QUESTION_TEMPLATES_KEY = 'question_templates'

#: The question of each task when the sample names no template.
DEFAULT_QUESTIONS: Dict[str, str] = dict(
    stvg='Find when and where this happens: {sentence}',
    tvg='When does this happen: {sentence}',
    rec='Where is this object: {sentence}',
    # A multiple-choice question: the dataset writes the question, the
    # options and the benchmark's instructions (its prompt_template).
    mcqa='{sentence}',
    # Conversations (captions, open QA): the data's question as it is.
    caption='{sentence}',
    open_qa='{sentence}')

#: A Uni-STG mixture's templates, a list per task (``UniSTGDataset``'s
#: ``prompt_templates`` replaces a task's list).
QUESTION_TEMPLATES: Dict[str, List[str]] = dict(
    stvg=[
        'When does "{sentence}" happen in the video, and where is it in each '
        'frame?',
        'Find the moment and the object described by: {sentence}',
    ],
    tvg=[
        'When does "{sentence}" happen in the video?',
        'Give the start and end time of: {sentence}',
    ],
    rec=[
        'Where is "{sentence}" in the image?',
        'Locate the object described by: {sentence}',
    ],
    # Multiple-choice QA (ours): the sentence is the question with its
    # lettered options; the answer is the letter (MultipleChoiceAnswer).
    mcqa=[
        "{sentence}\nAnswer with the option's letter from the given choices directly.",
        '{sentence}\nRespond with only the letter of the correct option.',
    ])
