"""What bench_interactions runs beside the app: background jobs at the workers' priority,
a bare Streamlit app (the floor of any round trip), and the server-side profile of a first
open, step by step."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from classifier.store.runs import RunStore
from tests.support.paths import ROOT
from tests.support.server import AppServer, free_port

NICENESS = 10  # classifier.jobs.process.WORKER_NICENESS: the app's workers run at it


# --- Background work --------------------------------------------------------------------------


class Background:
    """A command-line job at nice 10, kept running through a condition."""

    def __init__(self, kind: str, runs_dir: Path, log_path: Path, limit: int):
        self.kind, self.runs_dir, self.log_path, self.limit = kind, runs_dir, log_path, limit
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.runs_before = {path.name for path in runs_dir.iterdir()}

    def command(self) -> list[str]:
        base = [sys.executable, "-m", "classifier", "--runs-dir", str(self.runs_dir)]
        if self.kind == "training":
            return base + ["train", "--preset", "Small CNN", "--epochs", "100", "--quiet"]
        limit = self.limit - 1000 * self.starts  # another job (other pictures) if run again
        return base + ["suspects", "--split", "train", "--preset", "Small CNN", "--folds", "4",
                       "--limit", str(limit), "--top", "1"]  # fmt: skip

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            preexec_fn=lambda: os.nice(NICENESS),
        )
        log.close()
        self.starts += 1
        self.wait_busy()

    def wait_busy(self, timeout: float = 180) -> None:
        """Until the job does its real work (past TensorFlow's import and the data)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.kind == "training":
                if any(
                    (path / "batches.jsonl").exists() and (path / "batches.jsonl").stat().st_size
                    for path in self.runs_dir.iterdir()
                    if path.name not in self.runs_before
                ):
                    return
            elif cpu_seconds(self.process.pid) > 20:  # import, data, the first fold started
                return
            time.sleep(0.5)

    def keep_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for path in self.runs_dir.iterdir():  # the background run: gone from the pickers
            if path.name not in self.runs_before and path.is_dir() and self.kind == "training":
                shutil.rmtree(path, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- The bare app -------------------------------------------------------------------------------


class BareServer(AppServer):
    """AppServer's lifecycle (health, stop) for `streamlit run` of another script."""

    def __init__(self, script: Path, log_path: Path):  # noqa: D107 - AppServer's, other script
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs_dir = script.parent
        self.log_path = Path(log_path)
        self.health_timeout = 60
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "streamlit", "run", str(script)]
        command += ["--server.port", str(self.port), "--server.address", "127.0.0.1"]
        command += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
        # The project on the path: its `?map=1` page draws Explore's map figure.
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            command, cwd=script.parent, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )


# --- Server-side profile of the first opens ------------------------------------------------------


def profile(store: RunStore, run_id: str) -> list[tuple[str, float]]:
    steps: list[tuple[str, float]] = []

    def step(name, work):
        start = time.perf_counter()
        result = work()
        steps.append((name, time.perf_counter() - start))
        return result

    from classifier.data import load_dataset, scale_images

    data = step("read the dataset (load_dataset)", load_dataset)
    step("import TensorFlow and Keras", lambda: __import__("keras"))
    from classifier.ml import features as feats
    from classifier.ml.inference import probabilities, saliency
    from classifier.store.history import HISTORY_FILE, read_history, recorded_final_epoch
    from classifier.views.verify import Replay

    test_x = step("scale the test pictures", lambda: scale_images(data.test.images))
    train_x = step("scale the training pictures", lambda: scale_images(data.train.images))
    for attempt in ("first", "second"):
        model = step(f"load the model ({attempt} time)", lambda: store.load_model(run_id))
        step(
            f"predict the 10,000 test pictures ({attempt} time)",
            partial(probabilities, model, test_x),
        )
    recorded = recorded_final_epoch(store, run_id)

    def recorded_probs():
        history = read_history(store.run_dir(run_id) / HISTORY_FILE, max_epochs=recorded[0])
        return Replay(history, data.test.labels).probabilities(recorded[0])

    if recorded is not None:
        step("read the recorded last-epoch predictions instead (history + Replay)", recorded_probs)
    extractor = step("build the feature model", lambda: feats.feature_model(model))
    test_f = step("features of the 10,000 test pictures", lambda: feats.features(extractor, test_x))
    train_f = step(
        "features of the 60,000 training pictures", lambda: feats.features(extractor, train_x)
    )
    step("PCA map of the test features", lambda: feats.principal_components(test_f))
    index = step(
        "neighbour index over the training features", lambda: feats.NeighbourIndex(train_f)
    )
    step("8 nearest training pictures of one picture", lambda: index.search(test_f[0]))
    for attempt in ("first", "second"):
        step(f"one saliency map ({attempt})", lambda: saliency(model, test_x[0]))
    return steps
