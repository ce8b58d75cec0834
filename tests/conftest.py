"""The tests, by layer. Each folder is one layer, and gets its pytest marker from here:

    tests/unit/     marker `unit`: plain pytest on classifier/ (and ui/ helpers called
                    outside a server): the real dataset, real short trainings, no Streamlit
                    server, no AppTest
    tests/app/      marker `app`: each page in Streamlit's AppTest (the real page scripts,
                    driven through their keyed widgets; no server, no browser)
    tests/browser/  marker `browser`: Playwright + Debian's Chromium against a real
                    `streamlit run app.py` on a free loopback port
    tests/support/  the shared harness (no tests): APP, wait_until, AppServer, open_page,
                    the Chromium flags; bench/ imports it too

So `pytest -m unit` runs only the fast layer, `pytest tests/app` the app tests, and
`pytest -m "not browser"` everything but Chromium. The marker `slow` is on the tests that
train models or start processes (`-m "unit and not slow"` is the quickest run).
`pytest -n 2` (pytest-xdist) runs two workers; each has its own session fixtures, so its
own live servers on free ports.

Fixtures live in conftest.py files: here those that several layers share (the dataset, a
scratch run store, trained runs); tests/app/conftest.py and tests/browser/conftest.py hold
their layer's own. Plain helpers are in tests/support/, imported as `tests.support...`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Training workers compute the Explore map after a run (jobs.training_job): the suite's
# many short runs need none, and it would take a core from every test after them. The
# tests of that step turn it on again (tests/unit/test_embedding.py).
os.environ.setdefault("CLASSIFIER_MAP_AFTER_TRAINING", "0")
# Workers run at the server's priority here: the suite's own processes share the two cores,
# and a worker at a lower priority would only make its test's timeout depend on the load.
# tests/unit/test_job_process.py checks the product's default (WORKER_NICENESS).
os.environ.setdefault("CLASSIFIER_WORKER_NICENESS", "0")

from tests.support.runs import TrainedRun, cli_train, damage_store, train_run

TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "app", "browser")


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(config, items):
    """Mark each test with its folder's layer; a test outside the three folders is an error
    (its layer would be unknown)."""
    for item in items:
        parts = Path(item.path).resolve().relative_to(TESTS).parts
        layer = parts[0] if len(parts) > 1 else None
        if layer not in LAYERS:
            raise pytest.UsageError(
                f"{item.nodeid}: put the test in tests/unit, tests/app or tests/browser"
            )
        item.add_marker(getattr(pytest.mark, layer))


# --- Data and stores -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dataset():
    from classifier.data import load_dataset

    return load_dataset(allow_download=False)


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    """An empty run store for one test, also seen by subprocesses and AppTest pages."""
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(root))
    return root


# --- Trained runs, made once per session (per worker with pytest -n) ---------------------


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> TrainedRun:
    """A Tutorial MLP trained for 1 epoch on 3,000 images (a few seconds)."""
    return train_run(
        tmp_path_factory.mktemp("verify-runs"), "verify-test", epochs=1, train_limit=3000
    )


@pytest.fixture(scope="session")
def replay_run(tmp_path_factory) -> TrainedRun:
    """A Tutorial MLP trained for 3 epochs on 3,000 images, in its own store: a history of
    three epochs to replay."""
    return train_run(
        tmp_path_factory.mktemp("replay-runs"), "replay-test", epochs=3, train_limit=3000
    )


@pytest.fixture(scope="session")
def two_runs(trained_run, tmp_path_factory):
    """A store with the session's quick run (1 epoch, 3,000 pictures) and a second, better
    one (2 epochs, 6,000 pictures): (root, quick run id, better run id)."""
    import shutil

    root = tmp_path_factory.mktemp("explore-runs")
    shutil.copytree(trained_run.root / trained_run.run_id, root / trained_run.run_id)
    better = train_run(root, "better", epochs=2, train_limit=6000)
    return root, trained_run.run_id, better.run_id


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory) -> tuple[Path, str]:
    """A completed run made by the command line (1 epoch, 2,000 images): (store, run id)."""
    root = tmp_path_factory.mktemp("faults") / "runs"
    arguments = ["--preset", "Tutorial MLP", "--epochs", "1", "--train-limit", "2000"]
    return root, cli_train(root, "finished before the crash", *arguments)


@pytest.fixture
def damaged_store(cli_run, runs_root):
    """The command line's run copied four times into the test's store, three of them damaged
    (tests.support.runs.damage_store)."""
    return damage_store(cli_run, runs_root)
