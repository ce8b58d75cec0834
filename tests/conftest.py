"""Shared fixtures: the real dataset, a scratch run store, and a live app in Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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


def open_app_page(page: str, query: dict | None = None):
    """A page in AppTest, reached through app.py's router, opened with these link parameters."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def chart_spec(at, key_prefix: str) -> dict:
    """The plotly spec (JSON) of an AppTest chart whose key starts with `key_prefix`."""
    import json

    for element in at.get("plotly_chart"):
        if element.proto.id.rsplit("-", 1)[-1].startswith(key_prefix):
            return json.loads(element.proto.spec)
    raise AssertionError(f"No chart with key {key_prefix}*")


def decode(value):
    """A plotly JSON array: a list, or numpy's bytes in base64 ({"dtype", "bdata", "shape"})."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
    return np.asarray(value)


def wait_until(condition, timeout: float, what: str = "condition", interval: float = 0.05):
    """Poll `condition()` until it returns something truthy, which is returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def process_gone(pid: int) -> bool:
    """Dead, or a zombie that nobody has reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """A `streamlit run app.py` on a free loopback port, with its own run store."""

    def __init__(self, runs_dir: Path, log_path: Path, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs_dir = runs_dir
        env = {**os.environ, "CLASSIFIER_RUNS_DIR": str(runs_dir), **(env or {})}
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def __enter__(self) -> AppServer:
        """Serving once healthy; stopped on leaving, also when it never got healthy."""
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError("streamlit did not become healthy")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("browser-runs")
    with AppServer(runs_dir, tmp_path_factory.mktemp("logs") / "streamlit.log") as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else None,
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def wait_for_app(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit is connected and idle, as Streamlit's own e2e tests do."""
    page.wait_for_selector(
        "[data-testid='stAppViewContainer']", state="attached", timeout=timeout_ms
    )
    page.wait_for_timeout(200)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']",
        state="attached",
        timeout=timeout_ms,
    )
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']",
        state="attached",
        timeout=timeout_ms,
    )


def assert_no_exception(page) -> None:
    """No Streamlit exception box is shown."""
    assert page.locator("[data-testid='stException']").count() == 0, page.inner_text("body")[:2000]


def set_slider(page, label: str, steps_right: int, value: int) -> None:
    """Move a slider to its minimum, then `steps_right` steps up, with the keyboard, until
    it shows `value` (a key press can land while the page is still re-rendering)."""
    slider = page.get_by_role("slider", name=label)
    for _ in range(5):
        slider.focus()  # the thumb is an <input type=range>
        slider.press("Home")
        for _ in range(steps_right):
            slider.press("ArrowRight")
        if slider.input_value() == str(value):
            break
        page.wait_for_timeout(500)
    assert slider.input_value() == str(value)
    page.keyboard.press("Tab")  # commit the value
    # Streamlit sends a slider's value after a short debounce: wait for that rerun to end.
    page.wait_for_timeout(600)
    wait_for_app(page)


def choose(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def save_screenshot(page, name: str, show=None) -> None:
    """With SCREENSHOT_DIR set (e.g. docs/screenshots), keep what the test saw for the README.

    Streamlit scrolls inside its own container, so a full-page shot is only the viewport:
    pass `show` (a locator) to scroll the part that matters into view first."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        if show is not None:
            show.first.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
        page.screenshot(path=os.path.join(folder, name))


def status_badge(page, status: str):
    """The badge beside the shown run's name on the Train page."""
    return page.locator(".stMarkdownBadge", has_text=status)


# --- Verify page fixtures (tests/test_*verify*.py, tests/test_predictions.py) ---------------


class TrainedRun:
    """A completed run in a scratch store: `root` is the store folder."""

    def __init__(self, root: Path, run_id: str):
        self.root = root
        self.run_id = run_id


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> TrainedRun:
    """A Tutorial MLP trained for 1 epoch on 3,000 images (a few seconds), once per session."""
    from classifier.ml.models import preset_config
    from classifier.ml.training import run_training
    from classifier.store.runs import RunStore

    root = tmp_path_factory.mktemp("verify-runs")
    config = preset_config("Tutorial MLP", epochs=1, train_limit=3000)
    writer = RunStore(root).create_run(config.to_dict(), "verify-test")
    run_training(writer)
    return TrainedRun(root, writer.run_id)


@pytest.fixture(scope="session")
def verify_server(app_server, trained_run):
    """The live app with the trained run in its store (copied: the same files training
    would write there, without training a second time)."""
    import shutil

    target = app_server.runs_dir / trained_run.run_id
    if not target.exists():
        shutil.copytree(trained_run.root / trained_run.run_id, target)
    return app_server


def shirt_png(background: int = 255, colour: int = 40, size: int = 300) -> bytes:
    """A dark T-shirt shape on a light background, as a user might photograph one."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), background)
    points = [(0.1, 0.2), (0.35, 0.1), (0.65, 0.1), (0.9, 0.2), (0.95, 0.4), (0.75, 0.35)]
    points += [(0.75, 0.9), (0.25, 0.9), (0.25, 0.35), (0.05, 0.4)]
    ImageDraw.Draw(image).polygon([(x * size, y * size) for x, y in points], fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# --- End of the Verify page fixtures ---------------------------------------------------------
