"""`make room` (scripts/room.py): serves on every interface with XSRF on, and always with a
presenter: a configured one, or a generated password printed once and passed as a hash."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

from classifier.auth import ENV_PASSWORD_HASH, hash_password, parse_hash
from tests.support.paths import ROOT

SCRIPT = ROOT / "scripts" / "room.py"


def dry_run(tmp_path, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != ENV_PASSWORD_HASH}
    environment.update(HOME=str(tmp_path), **env)  # no ~/.streamlit/secrets.toml
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--port", "8765"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=60,
    )


def test_without_a_presenter_it_makes_a_password_and_serves_on_the_network(tmp_path):
    if (ROOT / ".streamlit" / "secrets.toml").exists():  # a configured presenter wins
        return
    result = dry_run(tmp_path)
    assert result.returncode == 0, result.stderr
    password = re.search(r"Presenter password: (\S+)", result.stdout).group(1)
    assert len(password) >= 20 and result.stdout.count(password) == 1
    assert "--server.address 0.0.0.0" in result.stdout
    assert "--server.enableXsrfProtection true" in result.stdout
    assert ":8765/play" in result.stdout


def test_a_configured_presenter_is_kept(tmp_path):
    result = dry_run(tmp_path, **{ENV_PASSWORD_HASH: hash_password("configured")})
    assert result.returncode == 0, result.stderr
    assert "Presenter password" not in result.stdout


def test_the_generated_password_reaches_the_server_only_as_a_hash(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("room_script_under_test", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    started = {}
    monkeypatch.delenv(ENV_PASSWORD_HASH, raising=False)
    monkeypatch.setattr(script, "SECRETS_FILES", (tmp_path / "none.toml",))
    monkeypatch.setattr(script.os, "chdir", lambda path: None)
    monkeypatch.setattr(
        script.os, "execvpe", lambda file, args, env: started.update(args=args, env=env)
    )
    assert script.main(["--port", "8765"]) == 1  # 1: execvpe did not replace the process
    stored = started["env"][ENV_PASSWORD_HASH]
    assert parse_hash(stored) is not None
    assert not any("Presenter password" in str(arg) for arg in started["args"])
