"""Ready for a room full of people: the app survives a killed server, a full disk, a damaged
run store and a missing dataset, and says what happened instead of showing a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import (
    AppServer,
    assert_no_exception,
    choose,
    process_gone,
    set_slider,
    status_badge,
    wait_for_app,
    wait_until,
)
from streamlit.testing.v1 import AppTest

from classifier.ml.models import preset_config
from classifier.store.files import sha256_file
from classifier.store.runs import (
    COMPLETED,
    CONFIG_FILE,
    FAILED,
    INTERRUPTED,
    METRICS_FILE,
    MODEL_FILE,
    RUNNING,
    STATUS_FILE,
    ModelLoadError,
    RunError,
    RunStore,
)
from classifier.views.text import run_labels

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def status_json(run_path: Path) -> dict:
    return json.loads((run_path / STATUS_FILE).read_text())


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> tuple[Path, str]:
    """A completed run made by the command line (1 epoch, 2,000 images): (store, run id)."""
    root = tmp_path_factory.mktemp("faults") / "runs"
    command = [sys.executable, "-m", "classifier", "--runs-dir", str(root), "train"]
    command += ["--preset", "Tutorial MLP", "--epochs", "1", "--train-limit", "2000"]
    command += ["--quiet", "--name", "finished before the crash"]
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    match = re.search(r"^run id: (\S+)$", result.stdout, re.MULTILINE)
    assert result.returncode == 0 and match, result.stdout + result.stderr[-3000:]
    return root, match.group(1)


def copy_run(cli_run, store_root: Path, run_id: str, name: str) -> Path:
    source_root, source_id = cli_run
    target = Path(shutil.copytree(source_root / source_id, store_root / run_id))
    config = json.loads((target / CONFIG_FILE).read_text())
    (target / CONFIG_FILE).write_text(json.dumps({**config, "name": name}))
    return target


# --- The server killed during training -------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_a_server_killed_mid_training_comes_back_with_the_run_interrupted(cli_run, tmp_path, page):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    shutil.copytree(cli_run[0] / cli_run[1], runs_dir / cli_run[1])
    completed_id = cli_run[1]
    store = RunStore(runs_dir)
    first = AppServer(runs_dir, tmp_path / "first.log")
    second = None
    worker_pid = None
    try:
        first.wait_healthy()
        page.goto(f"{first.url}/train")
        wait_for_app(page)
        choose(page, "Model", "Small CNN")
        page.get_by_text("More settings").click()
        set_slider(page, "Training images (0 = all 60,000)", 6, 6000)  # short epochs
        page.wait_for_timeout(500)  # the slider sends its value after a short debounce
        page.get_by_label("Run name (optional)").fill("killed with the server")
        page.keyboard.press("Enter")
        wait_for_app(page)
        page.get_by_role("button", name="Train", exact=True).click()

        def first_epoch_saved():
            live = [run for run in store.list_runs() if run.preset == "Small CNN"]
            # The worker writes epochs_done to its status after the epoch's model is saved.
            if live and live[0].status_data.get("epochs_done", 0) >= 1:
                return live[0]
            return None

        run = wait_until(first_epoch_saved, 90, "the first epoch of the job")
        assert (run.name, run.config["train_limit"]) == ("killed with the server", 6000)
        worker_pid = run.status_data["pid"]
        assert worker_pid not in (first.process.pid, os.getpid())
        assert run.status == RUNNING

        first.process.kill()  # SIGKILL: no cleanup of any kind in the server
        first.process.wait()
        killed = time.monotonic()
        wait_until(lambda: process_gone(worker_pid), 5, "the worker to exit with its server")
        # Its lock goes when its last thread does (the main thread may be a zombie first).
        wait_until(lambda: store.get(run.run_id).status == INTERRUPTED, 5, "interrupted")
        assert time.monotonic() - killed < 5
        info = store.get(run.run_id)
        assert "ended without finishing" in info.error
        assert info.epochs_done >= 1 and info.epochs_done == len(store.read_metrics(run.run_id))
        assert info.has_model and not info.usable and info.test_accuracy is None
        assert store.active_runs() == []
        assert [name for name in os.listdir(info.path) if "tmp" in name] == []

        second = AppServer(runs_dir, tmp_path / "second.log")
        second.wait_healthy()
        page.goto(f"{second.url}/train")  # the newest run is shown: the interrupted one
        wait_for_app(page)
        status_badge(page, "interrupted").wait_for(timeout=30_000)
        page.get_by_text("ended without finishing").first.wait_for(timeout=10_000)
        assert page.locator(".st-key-train_start button").is_enabled()  # nothing blocks a job
        assert page.locator(".st-key-train_stop").count() == 0  # no live job to stop
        assert_no_exception(page)

        page.goto(f"{second.url}/train?run={completed_id}")
        wait_for_app(page)
        status_badge(page, "completed").wait_for(timeout=30_000)
        page.get_by_text("Model (.keras)").wait_for(timeout=30_000)
        assert_no_exception(page)
        completed = store.get(completed_id)
        assert (completed.status, completed.epochs_done, completed.usable) == (COMPLETED, 1, True)
        assert store.load_model(completed_id).output_shape == (None, 10)
    finally:
        for server in (first, second):
            if server is not None:
                server.stop()
        if worker_pid and not process_gone(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)


# --- A full disk -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_full_disk_during_training_fails_the_run_and_keeps_the_last_model(runs_root, monkeypatch):
    """End to end through run_training: the second epoch's save hits ENOSPC half-way."""
    import keras

    from classifier.ml.training import run_training

    store = RunStore(runs_root)
    config = preset_config("Tutorial MLP", epochs=3, train_limit=2000)
    writer = store.create_run(config.to_dict(), name="disk full")
    model_path = writer.path / MODEL_FILE
    real_save = keras.Model.save
    saves: list[str] = []
    kept: dict[str, bytes] = {}

    def save_until_the_disk_is_full(self, filepath, *args, **kwargs):
        saves.append(str(filepath))
        if len(saves) < 2:
            return real_save(self, filepath, *args, **kwargs)
        kept["model"] = model_path.read_bytes()  # the first epoch's model
        real_save(self, filepath, *args, **kwargs)
        Path(filepath).write_bytes(Path(filepath).read_bytes()[:1000])  # cut off mid-write
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", save_until_the_disk_is_full)
    with pytest.raises(RunError, match="disk space"):
        run_training(writer)
    monkeypatch.undo()

    assert len(saves) == 2 and all(Path(name).name != MODEL_FILE for name in saves)
    info = store.get(writer.run_id)
    assert info.status == FAILED
    assert "Not enough disk space" in info.error and "previous model was kept" in info.error
    assert model_path.read_bytes() == kept["model"]  # byte for byte
    assert status_json(writer.path)["epochs_done"] == 1
    assert info.model_sha256 == sha256_file(model_path)
    assert [name for name in os.listdir(writer.path) if "tmp" in name] == []
    assert not info.usable and store.active_runs() == []
    assert store.load_model(writer.run_id).output_shape == (None, 10)


# --- A damaged store -------------------------------------------------------------------------

GOOD, GARBAGE, BAD_STATUS, FLIPPED = "good", "garbage-metrics", "bad-status", "flipped-byte"


@pytest.fixture
def damaged_store(cli_run, runs_root) -> RunStore:
    copy_run(cli_run, runs_root, GOOD, "good run")
    garbage = copy_run(cli_run, runs_root, GARBAGE, "garbage in its metrics")
    epoch_one = (garbage / METRICS_FILE).read_text().splitlines()[0]
    epoch_two = json.dumps({**json.loads(epoch_one), "epoch": 2})
    lines = [epoch_one, 'garbage \x00 {"epoch": 9, "loss"', "[1, 2]", epoch_two]
    (garbage / METRICS_FILE).write_text("\n".join(lines) + "\n")
    bad_status = copy_run(cli_run, runs_root, BAD_STATUS, "status not json")
    (bad_status / STATUS_FILE).write_text("this is not JSON {")
    flipped = copy_run(cli_run, runs_root, FLIPPED, "one byte flipped")
    data = bytearray((flipped / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    (flipped / MODEL_FILE).write_bytes(bytes(data))
    # The flipped run has the best recorded accuracy, so the Verify page offers it first.
    status = status_json(flipped)
    (flipped / STATUS_FILE).write_text(json.dumps({**status, "test_accuracy": 0.99}))
    return RunStore(runs_root)


@pytest.mark.slow
def test_a_damaged_store_reads_run_by_run(damaged_store):
    store = damaged_store
    runs = {info.run_id: info for info in store.list_runs()}
    assert set(runs) == {GOOD, GARBAGE, BAD_STATUS, FLIPPED}

    assert (runs[GARBAGE].status, runs[GARBAGE].epochs_done) == (COMPLETED, 2)
    assert [row["epoch"] for row in store.read_metrics(GARBAGE)] == [1, 2]
    assert store.metrics_csv(GARBAGE).count("\n") == 3

    assert runs[BAD_STATUS].status == FAILED and "status file" in runs[BAD_STATUS].error
    assert runs[BAD_STATUS].name == "status not json" and not runs[BAD_STATUS].usable

    assert runs[FLIPPED].status == COMPLETED and runs[FLIPPED].usable  # refused on loading
    with pytest.raises(ModelLoadError, match="checksum"):
        store.load_model(FLIPPED)
    assert [info.run_id for info in store.usable_runs()][0] == FLIPPED
    assert store.load_model(GOOD).output_shape == (None, 10)


def train_page(session: dict | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    for key, value in (session or {}).items():
        app.session_state[key] = value
    app.switch_page("pages/train.py").run()
    assert not app.exception, app.exception
    return app


def shown_run_texts(app: AppTest) -> str:
    parts = [w.value for w in app.warning] + [str(m.value) for m in app.metric]
    return "\n".join(str(part) for part in parts)


@pytest.mark.slow
def test_the_train_page_lists_and_shows_every_run_of_a_damaged_store(damaged_store):
    app = train_page()
    table = next(frame.value for frame in app.dataframe if "run" in frame.value.columns)
    assert set(table["run"]) == {GOOD, GARBAGE, BAD_STATUS, FLIPPED}
    statuses = dict(zip(table["run"], table["status"], strict=True))
    assert statuses[BAD_STATUS] == FAILED and statuses[GARBAGE] == COMPLETED
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
    assert any(header.value == "Test images" for header in app.header)

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
