"""Pages in Streamlit's AppTest (the real page scripts, no server, no browser)."""

from __future__ import annotations

import base64
import json

import numpy as np

from tests.support.paths import APP


def open_app_page(
    page: str,
    query: dict | None = None,
    session: dict | None = None,
    timeout: float = 60,
):
    """A page in AppTest, reached through app.py's router, opened with these link
    parameters (`query`) and with these values in its session state (`session`, as the page
    would find them after another page set them)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params.update(query or {})
    at.run()
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert not at.exception, [exception.value for exception in at.exception]
    return at


def chart_spec(at, key_prefix: str) -> dict:
    """The plotly spec (JSON) of an AppTest chart whose key starts with `key_prefix`."""
    for element in at.get("plotly_chart"):
        if element.proto.id.rsplit("-", 1)[-1].startswith(key_prefix):
            return json.loads(element.proto.spec)
    raise AssertionError(f"No chart with key {key_prefix}*")


def decode(value):
    """A plotly JSON array: a list, or numpy's bytes in base64 ({"dtype", "bdata", "shape"})."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
    return np.asarray(value)
