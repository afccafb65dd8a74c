import pytest

from mmstvg.models.language import format_span, parse_span


def test_format_span_text():
    assert format_span(3.2, 7.9) == 'The event happens from 3.2 to 7.9 seconds.'
    assert format_span(3.25, 12, precision=2) == \
        'The event happens from 3.25 to 12.00 seconds.'
    assert format_span(0.04, 1.96) == 'The event happens from 0.0 to 2.0 seconds.'
    with pytest.raises(ValueError):
        format_span(1, 2, precision=-1)


@pytest.mark.parametrize('start,end', [(0.0, 0.1), (3.2, 7.9), (12.0, 59.9), (5.5, 5.5)])
def test_round_trip(start, end):
    assert parse_span(format_span(start, end)) == (start, end)


@pytest.mark.parametrize('text,expected', [
    ('The event happens from 3.2 to 7.9 seconds .', (3.2, 7.9)),  # word-level decode
    ('It occurs from 12.0s to 18.5s.', (12.0, 18.5)),
    ('from 3 to 7 seconds', (3.0, 7.0)),
    ('FROM 1.5 until 2.5', (1.5, 2.5)),
    ('from 9.0 to 2.0 seconds', (9.0, 2.0)),  # reversed: reported as written
])
def test_parse_tolerant_forms(text, expected):
    assert parse_span(text) == expected


@pytest.mark.parametrize('text', [
    '', 'The event happens', 'from to seconds', 'from 3.2 seconds', 'between 1 and 2',
    'from -1.0 to 2.0', None
])
def test_parse_malformed_gives_none(text):
    assert parse_span(text) is None
