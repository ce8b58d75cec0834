"""Ready for a room full of people: safe server settings, size limits enforced by the server,
no path outside the run store, no unsafe deserialisation. (The live server's limits and user
text shown as text, in Chromium: tests/browser/test_security.py.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from classifier.ml.images import MAX_UPLOAD_BYTES, ImageError
from classifier.ml.models import preset_config
from classifier.store.records import RunError
from classifier.store.runs import (
    COMPLETED,
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    STATUS_FILE,
    RunStore,
)
from tests.support import ROOT
from tests.support.runs import oversize_png

# --- Server settings -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings() -> dict:
    with open(ROOT / ".streamlit" / "config.toml", "rb") as handle:
        return tomllib.load(handle)


def test_server_settings_are_safe_to_share(settings):
    server, client = settings["server"], settings["client"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server["address"] in ("127.0.0.1", "localhost", "::1")
    assert isinstance(server["maxUploadSize"], int) and 1 <= server["maxUploadSize"] <= 10
    # The server-side check of the Verify page and the upload endpoint agree on the limit.
    assert server["maxUploadSize"] * 1024 * 1024 == MAX_UPLOAD_BYTES
    assert client["showErrorDetails"] not in ("full", True, "stacktrace")
    assert client["toolbarMode"] == "viewer"
    assert settings["browser"]["gatherUsageStats"] is False


# --- Uploads ---------------------------------------------------------------------------------


class UntouchableModel:
    """A model that fails the test if the page's upload path ever runs it."""

    def __getattr__(self, name):
        raise AssertionError(f"the model was used ({name}) for an upload over the limit")


def test_the_verify_pages_upload_path_refuses_a_real_oversize_picture():
    from classifier.ml.inference import classify_upload

    # The size is checked on the bytes received, whatever size the client declared.
    with pytest.raises(ImageError, match=r"limit is 5 MB"):
        classify_upload(UntouchableModel(), oversize_png())


# --- Paths -----------------------------------------------------------------------------------


def cli(runs_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "classifier", "--runs-dir", str(runs_dir), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def snapshot(folder: Path) -> dict:
    """Every file below `folder` with its bytes and modification time."""
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder outside the store that looks exactly like a run, with a secret beside it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / CONFIG_FILE).write_text(json.dumps({"name": "outside", "preset": "Tutorial MLP"}))
    (folder / STATUS_FILE).write_text(json.dumps({"status": "running"}))  # looks "interrupted"
    (folder / METRICS_FILE).write_text('{"epoch": 1, "loss": 0.5}\n')
    (folder / MODEL_FILE).write_bytes(b"PK\x03\x04 not for you")
    (folder / ".model.tmp-1-1.keras").write_bytes(b"a reader of an interrupted run deletes this")
    (folder / "secret.txt").write_text("top secret")
    return folder


@pytest.mark.parametrize("run_id", ["..", "../x", "/etc/passwd", "a/b", "x\n", "linked"])
def test_no_run_id_reaches_outside_the_store(runs_root, outside, run_id):
    (runs_root / "linked").symlink_to(outside, target_is_directory=True)
    store = RunStore(runs_root)
    before = snapshot(outside)
    assert store.list_runs() == []  # the linked folder is not a run of this store
    for action in (
        store.run_dir,
        store.get,
        store.model_path,
        store.load_model,
        store.read_metrics,
        store.read_batches,
        store.metrics_csv,
        store.request_stop,
        store.delete,
    ):
        with pytest.raises(RunError):
            action(run_id)
    assert snapshot(outside) == before
    assert os.listdir(runs_root) == ["linked"]


def test_the_command_line_refuses_paths_and_links_out_of_the_store(runs_root, outside):
    (runs_root / "linked").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    for args in (["evaluate", "../../etc"], ["delete", "linked"], ["stop", "linked"]):
        result = cli(runs_root, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, args
        assert "Traceback" not in result.stderr
    assert "no runs in" in cli(runs_root, "runs").stdout
    assert snapshot(outside) == before


def test_files_in_a_run_that_link_outside_are_never_read(runs_root, outside):
    """A run folder holding links to files elsewhere: none of them is read or served."""
    store = RunStore(runs_root)
    writer = store.create_run(preset_config("Tutorial MLP", epochs=1).to_dict(), name="links")
    writer.write_status(status=COMPLETED, finished_at=time.time(), test_accuracy=0.5)
    writer.release()
    (writer.path / MODEL_FILE).symlink_to(outside / "secret.txt")
    (writer.path / METRICS_FILE).symlink_to(outside / METRICS_FILE)
    info = store.get(writer.run_id)
    assert not info.has_model and not info.usable  # the page offers no download of it
    assert info.epochs_done == 0 and store.read_metrics(writer.run_id) == []
    assert "top secret" not in store.metrics_csv(writer.run_id)
    with pytest.raises(RunError):
        store.load_model(writer.run_id)


def test_a_runs_folder_that_is_itself_a_link_works(tmp_path):
    real = tmp_path / "real-runs"
    real.mkdir()
    (tmp_path / "runs-link").symlink_to(real, target_is_directory=True)
    store = RunStore(tmp_path / "runs-link")
    writer = store.create_run({"preset": "Tutorial MLP", "epochs": 1}, name="via a link")
    writer.release()
    assert [info.name for info in store.list_runs()] == ["via a link"]
    assert store.run_dir(writer.run_id) == real / writer.run_id


# --- No unsafe deserialisation or dynamic code -----------------------------------------------

# Built from parts so that this file does not match itself.
FORBIDDEN = {
    r"safe_mode\s*=\s*(?!True\b)": "Keras safe mode not literally True",
    "enable_unsafe_" + "deserialization": "Keras unsafe deserialisation",
    r"unsafe_allow_html\s*=\s*(?!False\b)": "raw HTML in Streamlit",
    r"\bst\.html\(|components\.v1\.html|components\.html\(": "raw HTML in Streamlit",
    r"\bpickle\.loads?\(|\bdill\.|\bjoblib\.load\(|\bshelve\.": "pickle (runs code on load)",
    r"allow_pickle\s*=\s*True": "numpy pickle loading",
    r"\byaml\.(?:unsafe_)?load\(": "yaml.load (use yaml.safe_load)",
    r"\bmarshal\.loads?\(": "marshal",
    r"(?<![\w.])(?:ev" + r"al|ex" + r"ec)\s*\(": "eval/exec",
    r"\bkeras\.config\.enable_" + "unsafe": "Keras unsafe deserialisation",
}
PATTERNS = [(re.compile(pattern), why) for pattern, why in FORBIDDEN.items()]
SKIPPED_DIRS = {".venv", ".git", ".pytest_cache", ".ruff_cache", "__pycache__", "node_modules"}


def project_python_files() -> list[Path]:
    files = []
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_DIRS]
        files += [Path(folder) / name for name in names if name.endswith(".py")]
    return sorted(files)


def test_no_unsafe_deserialisation_or_raw_html_or_dynamic_code_anywhere():
    files = project_python_files()
    assert {
        ROOT / "app.py",
        ROOT / "classifier" / "store" / "runs.py",
        ROOT / "pages" / "train.py",
    } <= set(files)
    found = []
    for path in files:
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{number}"
            found += [f"{where}: {why}: {line.strip()}" for rx, why in PATTERNS if rx.search(line)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "keras.saving.load_model(path, safe_mode" + "=False)",
        "load_model(p, safe_mode = flag)",
        "st.markdown(name, unsafe_allow_html" + "=True)",
        "data = pickle.loads(blob)",
        "np.load(path, allow_pickle=True)",
        "value = " + "ev" + "al(text)",
        "ex" + "ec(code)",
        "yaml.load(stream)",
    ],
)
def test_the_scanner_catches_what_it_looks_for(line):
    assert any(rx.search(line) for rx, _ in PATTERNS), line


@pytest.mark.parametrize(
    "line",
    ["model.evaluate(x)", "keras.saving.load_model(path, safe_mode=True)", "df.eval_mode()"],
)
def test_the_scanner_leaves_safe_code_alone(line):
    assert not any(rx.search(line) for rx, _ in PATTERNS), line
