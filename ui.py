"""The one Streamlit helper module shared by the pages: cached resources and state keys.

Everything here is thin glue; the logic lives in the plain-Python package `classifier`.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from classifier.data import DatasetError, FashionMNIST, load_dataset
from classifier.dataset_view import SplitStats, compute_split_stats


@st.cache_resource(show_spinner="Loading Fashion-MNIST...")
def _cached_dataset() -> FashionMNIST:
    # cache_resource, not cache_data: one shared read-only copy, no pickling per rerun.
    return load_dataset()


def get_dataset() -> FashionMNIST:
    """The dataset, loaded once per server; on failure, explain how to fix it and stop."""
    try:
        return _cached_dataset()
    except DatasetError as error:
        st.error(f"The Fashion-MNIST dataset could not be loaded. {error}")
        st.stop()
        raise  # unreachable: st.stop() ends the script run


@st.cache_resource(show_spinner="Computing statistics...")
def get_split_stats(split_name: str) -> SplitStats:
    """Statistics of one split, computed once per server. Keyed by the split's NAME: a big
    array as a cache argument would be hashed from a sample and could give a stale hit."""
    return compute_split_stats(get_dataset().split(split_name))


def sync_query_params(values: Mapping[str, str | None]) -> None:
    """Set these URL query parameters (None removes one), leaving any others alone.

    Writes only what changed: each write is a message to the browser, which then updates
    its address bar, so a copied link reopens the same view.
    """
    for name, value in values.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != value:
            st.query_params[name] = value
