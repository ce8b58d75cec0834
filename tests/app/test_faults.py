"""Ready for a room full of people, in AppTest: the pages list and show every run of a
damaged store and refuse a damaged model without breaking, and a missing dataset is
explained, not a traceback. (The store itself: tests/unit/test_faults.py.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
from streamlit.testing.v1 import AppTest

from classifier.store.runs import COMPLETED, FAILED
from classifier.views.text import run_labels
from tests.support import APP, ROOT
from tests.support.apptest import open_app_page
from tests.support.runs import BAD_STATUS, FLIPPED, GARBAGE, GOOD

# --- A damaged store (tests/conftest.py, damaged_store) -------------------------------------


def train_page(session: dict | None = None) -> AppTest:
    return open_app_page("pages/train.py", session=session)


def shown_run_texts(app: AppTest) -> str:
    parts = [w.value for w in app.warning] + [str(m.value) for m in app.metric]
    return "\n".join(str(part) for part in parts)


@pytest.mark.slow
def test_the_train_page_lists_and_shows_every_run_of_a_damaged_store(damaged_store):
    app = train_page()
    table = next(frame.value for frame in app.dataframe if "status" in frame.value.columns)
    names = {"good run", "garbage in its metrics", "status not json", "one byte flipped"}
    assert len(table) == 4 and set(table["name"]) <= names | {""}
    statuses = dict(zip(table["name"], table["status"], strict=True))
    assert statuses.get("garbage in its metrics", COMPLETED) == COMPLETED
    assert FAILED in set(table["status"])  # the run whose status file is damaged
    labels = set(run_labels(damaged_store.list_runs()).values())
    assert set(app.selectbox(key="train_view_run").options) == labels

    expected = {  # run: (its name as the heading, its status badge, a telling detail)
        GOOD: ("good run", COMPLETED, "1 of 1"),
        GARBAGE: ("garbage in its metrics", COMPLETED, "2 of 1"),  # two epochs in its log
        BAD_STATUS: ("status not json", FAILED, "status file is missing or damaged"),
        FLIPPED: ("one byte flipped", COMPLETED, "Model (.keras)"),
    }
    for run_id, (name, badge, detail) in expected.items():
        # "train_shown_run" is how the page is told which run to show after a job.
        app = train_page({"train_shown_run": run_id})
        assert app.selectbox(key="train_view_run").value == run_id
        assert any(m.value.startswith(f"#### {name} · ") for m in app.markdown)
        badges = [m.value for m in app.markdown if re.fullmatch(r":\w+-badge\[.*\]", m.value)]
        assert badges and all(value.endswith(f"-badge[{badge}]") for value in badges), badges
        shown = shown_run_texts(app) + " ".join(b.label for b in app.get("download_button"))
        assert detail in shown, (run_id, shown)


@pytest.mark.slow
def test_the_show_run_box_switches_the_shown_run(damaged_store):
    app = train_page()
    first = app.selectbox(key="train_view_run").value
    other = next(run_id for run_id in (GOOD, GARBAGE) if run_id != first)
    app.selectbox(key="train_view_run").set_value(other).run()
    assert not app.exception
    assert app.selectbox(key="train_view_run").value == other


@pytest.mark.slow
def test_the_verify_page_refuses_the_flipped_model_and_keeps_working(damaged_store):
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page("pages/verify.py").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="verify_run").value == FLIPPED  # the best recorded accuracy
    assert len(app.error) == 1 and "checksum" in app.error[0].value
    assert "Choose another model" in app.error[0].value
    labels = run_labels(damaged_store.usable_runs())
    assert set(app.selectbox(key="verify_run").options) == set(labels.values())
    assert set(labels) == {GOOD, GARBAGE, FLIPPED}

    app.selectbox(key="verify_run").set_value(GOOD).run()
    assert not app.exception and not app.error
    assert any("Test accuracy" in text.value for text in app.markdown)  # the grid's caption

    app.selectbox(key="verify_run").set_value(FLIPPED).run()  # and back: refused again
    assert not app.exception and "checksum" in app.error[0].value


# --- No dataset ------------------------------------------------------------------------------

NO_DATASET_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import classifier.data as data

    empty = Path(sys.argv[1])
    data.KERAS_CACHE_DIR = empty / "keras-cache"
    data.DEBIAN_DIR = empty / "debian"
    downloads = []

    def no_download():  # the app may try Keras' download: never over the network here
        downloads.append(1)
        return None

    data._download_with_keras = no_download

    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(sys.argv[2], default_timeout=60)
    app.run()
    result = {}
    for page in ("pages/dataset.py", "pages/train.py"):
        app.switch_page(page).run()
        result[page] = {
            "errors": [error.value for error in app.error],
            "exceptions": [str(exception.value) for exception in app.exception],
            "charts": len(app.get("plotly_chart")),
        }
    result["downloads"] = len(downloads)
    print(json.dumps(result))
    """
)


@pytest.mark.slow
def test_a_missing_dataset_explains_how_to_install_it(tmp_path, runs_root):
    empty = tmp_path / "nothing-here"
    (empty / "home").mkdir(parents=True)
    (empty / "fashion-mnist").mkdir()
    script = tmp_path / "no_dataset.py"
    script.write_text(NO_DATASET_SCRIPT)
    env = {
        **os.environ,
        "HOME": str(empty / "home"),
        "FASHION_MNIST_DIR": str(empty / "fashion-mnist"),
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, str(script), str(empty), APP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    pages = json.loads(result.stdout.strip().splitlines()[-1])

    dataset_page = pages["pages/dataset.py"]
    assert dataset_page["exceptions"] == []
    assert len(dataset_page["errors"]) == 1 and dataset_page["charts"] == 0
    message = dataset_page["errors"][0]
    assert "could not be loaded" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "FASHION_MNIST_DIR" in message and str(empty / "fashion-mnist") in message
    assert pages["downloads"] >= 1  # it did try the download path (stubbed), then explained
    # The other pages do not need the dataset to open.
    assert pages["pages/train.py"]["exceptions"] == [] and pages["pages/train.py"]["errors"] == []
