"""Serve the app to a room on the local network (`make room`; README, "Play with a room").

- Listens on every interface (`--server.address 0.0.0.0`), so phones on the same network
  reach it; XSRF protection stays on (said again on the command line).
- Requires a presenter: if neither CLASSIFIER_PRESENTER_PASSWORD_HASH nor `[presenter]` in
  .streamlit/secrets.toml configures one, it makes a random password, prints it once, and
  hands the server only its scrypt hash (in the environment). Everyone else is a viewer.

Options: `--port N` (default $ROOM_PORT or 8501), `--dry-run` (print what would run).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier import auth  # noqa: E402
from classifier.views.room import lan_ip  # noqa: E402

SECRETS_FILES = (ROOT / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml")


def configured_settings(environ) -> auth.PresenterSettings:
    """The presenter settings the server will read: the environment, then secrets.toml."""
    merged: dict = {}
    for path in reversed(SECRETS_FILES):  # the project's file wins over the global one
        try:
            merged.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
    return auth.load_settings(merged, environ)


def new_password() -> str:
    """A random password, easy to read out and type: four groups of five characters."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("ROOM_PORT", 8501)))
    parser.add_argument("--dry-run", action="store_true", help="print, do not start")
    options = parser.parse_args(argv)
    environ = dict(os.environ)
    settings = configured_settings(environ)
    for warning in settings.warnings:
        print(f"room: {warning}", file=sys.stderr)
    if not settings.enabled:
        password = new_password()
        environ[auth.ENV_PASSWORD_HASH] = auth.hash_password(password)
        print("No presenter is configured, so this room gets a presenter password.")
        print(f"    Presenter password: {password}")
        print("It is shown only now. Log in with it in the app's sidebar, then open Present.")
    host = lan_ip() or "this-machine"
    print(f"Phones open http://{host}:{options.port}/play (the Present page shows a QR code).")
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
    command += ["--server.address", "0.0.0.0", "--server.port", str(options.port)]
    command += ["--server.enableXsrfProtection", "true", "--server.headless", "true"]
    if options.dry_run:
        print(" ".join(command))
        return 0
    sys.stdout.flush()
    os.chdir(ROOT)
    os.execvpe(command[0], command, environ)
    return 1  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
