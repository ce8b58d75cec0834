"""The Train page in Streamlit's AppTest: settings, a real background job, Stop, runs."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from classifier.ml.models import PRESETS
from classifier.store.runs import RunStore
from tests.support import wait_until
from tests.support.apptest import open_app_page


def open_train_page() -> AppTest:
    return open_app_page("pages/train.py")


def rerun_until(app: AppTest, condition, timeout: float = 90) -> None:
    """Rerun the page (its polling fragment runs once per run) until `condition()`."""

    def rerun_and_check():
        app.run()
        assert not app.exception, app.exception
        return condition()

    wait_until(rerun_and_check, timeout, "the page", interval=0.5)


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [str(m.value) for m in app.metric] + [b.value for b in app.get("badge")]
    return "\n".join(str(part) for part in parts)


def test_page_renders_settings_from_the_preset(runs_root):
    app = open_train_page()
    assert app.selectbox(key="train_preset").value == "Tutorial MLP"
    assert app.slider(key="train_epochs").value == 10
    assert app.select_slider(key="train_batch_size").value == 32
    assert "Pick a model and press" in texts(app) or app.info

    app.selectbox(key="train_preset").set_value("Best CNN").run()
    best = PRESETS["Best CNN"].defaults
    assert app.slider(key="train_epochs").value == best.epochs != 10
    assert app.select_slider(key="train_batch_size").value == best.batch_size == 128
    assert app.selectbox(key="train_schedule").value == best.schedule == "cosine"
    assert f"for {best.epochs} epochs on all 60,000 training images, 128 images" in texts(app)


@pytest.mark.slow
def test_sliders_configure_a_job_whose_progress_and_results_appear(runs_root):
    app = open_train_page()
    app.slider(key="train_epochs").set_value(2).run()
    app.slider(key="train_train_limit").set_value(3000).run()
    app.slider(key="train_validation_split").set_value(0.1).run()
    app.text_input(key="train_name").set_value("from the sliders").run()
    app.button(key="train_start").click().run()
    assert not app.exception

    (run,) = RunStore(runs_root).list_runs()
    config = json.loads((run.path / "config.json").read_text())
    assert config["epochs"] == 2 and config["train_limit"] == 3000
    assert config["validation_split"] == 0.1 and config["name"] == "from the sliders"

    # While it trains the Train button is disabled and a progress bar appears.
    rerun_until(app, lambda: len(app.get("progress")) > 0 or "completed" in texts(app))
    rerun_until(app, lambda: "completed" in texts(app))
    assert "from the sliders" in texts(app)
    assert not app.button(key="train_start").disabled
    labels = [m.label for m in app.metric]
    assert "Test accuracy" in labels
    accuracy = app.metric[labels.index("Test accuracy")].value
    assert accuracy.endswith("%") and float(accuracy[:-1]) > 50
    assert app.get("download_button"), "model and metrics downloads are offered"


@pytest.mark.slow
def test_stop_button_stops_the_job_and_keeps_the_model(runs_root):
    app = open_train_page()
    app.selectbox(key="train_preset").set_value("Small CNN").run()
    app.slider(key="train_epochs").set_value(5).run()
    app.button(key="train_start").click().run()
    rerun_until(app, lambda: any(b.key == "train_stop" for b in app.button))
    rerun_until(
        app, lambda: RunStore(runs_root).read_batches(RunStore(runs_root).list_runs()[0].run_id)
    )
    app.button(key="train_stop").click().run()
    rerun_until(app, lambda: "stopped" in texts(app), timeout=60)
    (run,) = RunStore(runs_root).list_runs()
    assert run.status == "stopped" and run.has_model
    assert run.epochs_done < 5


def test_second_job_is_refused_with_a_clear_message(runs_root):
    from classifier.store.runs import RUNNING

    # A run whose lock is held counts as training, whoever started it (CLI or another tab).
    writer = RunStore(runs_root).create_run({"preset": "Tutorial MLP", "epochs": 3}, "busy")
    try:
        app = open_train_page()
        assert RunStore(runs_root).get(writer.run_id).status == RUNNING
        assert app.button(key="train_start").disabled
        assert "trains one model at a time" in texts(app)
    finally:
        writer.release()


def test_train_waits_while_a_label_check_trains_its_models(runs_root):
    import os

    from classifier.jobs import label_check

    _, lock = label_check._prepare(runs_root, label_check.CrossValidation(limit=100))
    try:
        app = open_train_page()
        assert app.button(key="train_start").disabled
        assert "check of the training labels" in texts(app)
    finally:
        os.close(lock)
    app.run()
    assert not app.button(key="train_start").disabled


def test_hostile_run_name_is_shown_as_text(runs_root):
    writer = RunStore(runs_root).create_run(
        {"preset": "Tutorial MLP"}, "<img src=x onerror=alert(1)>"
    )
    writer.write_status(status="completed", test_accuracy=0.5)
    writer.release()
    app = open_train_page()
    assert not app.exception
    # Escaped for markdown: the raw tag never reaches the page as markup.
    assert any("\\<img src=x onerror=alert\\(1\\)\\>" in m.value for m in app.markdown)


def test_delete_needs_confirmation(runs_root):
    writer = RunStore(runs_root).create_run({"preset": "Tutorial MLP"}, "doomed")
    writer.write_status(status="completed")
    writer.release()
    app = open_train_page()
    assert app.button(key="train_delete").disabled
    app.checkbox(key="train_delete_confirm").check().run()
    app.button(key="train_delete").click().run()
    assert not app.exception
    assert RunStore(runs_root).list_runs() == []


def test_a_shown_run_reads_its_batch_log_only_when_asked(runs_root, monkeypatch):
    """Showing a run built its per-batch figure (reading the whole batch log, tens of MB for
    a long run) on every rerun, inside a collapsed expander."""
    from classifier.store import runs as runs_module

    store = RunStore(runs_root)
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, "long run")
    lines = [
        {"epoch": 1, "batch": b, "steps": 500, "loss": 1.0, "accuracy": 0.5} for b in range(500)
    ]
    (writer.path / "batches.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (writer.path / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "loss": 1.0}) + "\n")
    writer.write_status(status="completed", test_accuracy=0.8, epochs_done=1)
    writer.release()
    read = []
    original = runs_module.RunStore.read_batches
    runs_module.RunStore.read_batches = lambda self, run_id: (
        read.append(run_id) or original(self, run_id)
    )
    try:
        app = open_train_page()
        keys = [chart.proto.id for chart in app.get("plotly_chart")]
        assert not any("train_result_batches" in key for key in keys) and not read
        app.toggle(key="train_details").set_value(True).run()
        keys = [chart.proto.id for chart in app.get("plotly_chart")]
        assert any("train_result_batches" in key for key in keys) and read == [writer.run_id]
    finally:
        runs_module.RunStore.read_batches = original
