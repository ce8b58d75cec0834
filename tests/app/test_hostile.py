"""Pages under odd input, in Streamlit's AppTest: runs written by another version or by
hand, and a runs folder that cannot be written. Each crashed a page before."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.store.runs import RunStore
from tests.support.apptest import open_app_page


def odd_run(root: Path, name: str, config: str, status: str, metrics: str = "") -> None:
    folder = root / name
    folder.mkdir()
    (folder / "config.json").write_text(config)
    (folder / "status.json").write_text(status)
    (folder / "metrics.jsonl").write_text(metrics)
    (folder / "batches.jsonl").write_text('{"loss": 1}\n{"epoch": 1}\n{"batch": 2}\n')


@pytest.fixture
def odd_store(runs_root):
    odd_run(runs_root, "huge-start", '{"name": "a", "epochs": 1}', '{"started_at": 1e20}')
    odd_run(runs_root, "nan-start", '{"epochs": 1}', '{"status": "completed", "started_at": NaN}')
    odd_run(runs_root, "inf-epochs", '{"epochs": Infinity}', '{"status": "completed"}')
    odd_run(
        runs_root, "inf-epoch", "{}", '{"status": "running"}', '{"epoch": Infinity}\n{"x": 1}\n'
    )
    odd_run(
        runs_root,
        "other-version",
        '{"preset": ["x"]}',
        '{"status": "paused", "test_accuracy": "hi"}',
    )
    return runs_root


@pytest.mark.parametrize("page", ["pages/train.py", "pages/verify.py"])
def test_odd_runs_never_break_a_page(odd_store, page):
    app = open_app_page(page)
    if page == "pages/train.py":
        table = next(frame.value for frame in app.dataframe if "status" in frame.value.columns)
        assert len(table) == 5  # every run is listed, none crashes the table
        for run_id in ("huge-start", "inf-epoch", "other-version"):  # and each can be shown
            app.selectbox(key="train_view_run").set_value(run_id).run()
            assert not app.exception, (run_id, [e.value for e in app.exception])


def test_an_unwritable_runs_folder_is_a_message_not_a_crash(tmp_path, monkeypatch):
    """Train and "Train a quick model" showed "This app has encountered an error"."""
    blocker = tmp_path / "a-file"
    blocker.write_text("the runs folder cannot be created under a file")
    monkeypatch.setenv("CLASSIFIER_RUNS_DIR", str(blocker / "runs"))
    app = open_app_page("pages/train.py")
    app.button(key="train_start").click().run()
    assert not app.exception
    assert any("runs folder" in error.value for error in app.error), [e.value for e in app.error]
    app = open_app_page("pages/verify.py")
    app.button(key="verify_quick_train").click().run()
    assert not app.exception
    assert any("runs folder" in warning.value for warning in app.warning)
    assert not (blocker / "runs").exists() and RunStore(blocker / "runs").list_runs() == []
