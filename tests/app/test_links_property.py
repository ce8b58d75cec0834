"""Property: the Dataset page, in AppTest, opens from any link (a few examples: each is a
page run). (The link parsers on many more: tests/unit/test_links_property.py.)"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from classifier.views.dataset import ALL_CLASSES, CLASS_FILTER_OPTIONS
from tests.support import APP
from tests.support.links import NAMES, TEXT


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(NAMES), TEXT, min_size=1))
def test_the_dataset_page_opens_from_any_link(params):
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/dataset.py")
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [exception.value for exception in at.exception]
    assert at.selectbox(key="dataset_class").value in (ALL_CLASSES, *CLASS_FILTER_OPTIONS)
