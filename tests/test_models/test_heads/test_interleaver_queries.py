"""Whether an interleaver places queries is its own property (no isinstance checks)."""
import pytest
from mmengine.registry import init_default_scope

from mmstvg.models.query_interleavers import places_queries
from mmstvg.registry import QUERY_INTERLEAVERS


@pytest.mark.parametrize('name, places', [('NoQueries', False), ('AppendedQueries', True)])
def test_places_queries(name, places):
    init_default_scope('mmstvg')
    assert QUERY_INTERLEAVERS.build(dict(type=name, embed_dim=8)).places_queries is places


def test_a_space_decoder_needs_an_interleaver_that_places_queries(grounder_cfg):
    from mmstvg.registry import MODELS
    init_default_scope('mmstvg')
    with pytest.raises(ValueError, match='a space_decoder reads query states'):
        MODELS.build(dict(grounder_cfg, query_interleaver=dict(type='NoQueries')))


def test_a_part_that_does_not_say_places_queries():
    assert places_queries(object()) is True
