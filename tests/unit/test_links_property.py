"""Property: any link opens a page. Query parameters are any Unicode text a user or another
site can put in a URL; the parsers never raise and always give a view the page can show.
(The Dataset page opened from such links, in AppTest: tests/app/test_links_property.py.)"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from classifier.data import NUM_CLASSES, SPLIT_SIZES
from classifier.views.dataset import CLASS_FILTER_OPTIONS, DatasetView
from classifier.views.grid import parse_class, parse_index
from classifier.views.verify import FILTER_MODES, SORT_ORDERS, VerifyView
from tests.support.links import NAMES, TEXT

PARAMS = st.dictionaries(st.sampled_from(NAMES), st.one_of(TEXT, st.lists(TEXT, max_size=3)))


@given(TEXT)
def test_numbers_are_ascii_digits_in_range_or_nothing(text):
    index = parse_index(text, 10_000)
    assert index is None or (isinstance(index, int) and 0 <= index < 10_000)
    number = parse_class(text)
    assert number is None or 0 <= number < NUM_CLASSES


@given(PARAMS)
def test_any_dataset_link_gives_a_valid_view(params):
    view = DatasetView.from_params(params)
    assert view.split in SPLIT_SIZES and view.class_name in CLASS_FILTER_OPTIONS
    assert view.image is None or 0 <= view.image < SPLIT_SIZES[view.split]
    assert DatasetView.from_params(view.to_params()) == view  # the page's own link


@given(PARAMS, st.lists(st.text(max_size=10), max_size=3))
def test_any_verify_link_gives_a_valid_view(params, run_ids):
    view = VerifyView.from_params(params, run_ids)
    assert view.run is None or view.run in run_ids
    assert 0 <= view.image < SPLIT_SIZES["test"]
    assert view.spec.mode in FILTER_MODES and view.order in SORT_ORDERS
    view.spec.validate()
    assert VerifyView.from_params(view.to_params(), run_ids) == view
