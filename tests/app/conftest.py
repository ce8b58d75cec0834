"""AppTest fixtures: the pages see a run store through CLASSIFIER_RUNS_DIR, as the server
does."""

from __future__ import annotations

import pytest


@pytest.fixture
def store_with_run(trained_run, monkeypatch):
    """The session's trained run (tests/conftest.py) as the pages' run store."""
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(trained_run.root))
    return trained_run
