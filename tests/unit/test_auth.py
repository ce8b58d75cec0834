"""The presenter role: password hashes, settings, the rate limit and who may train."""

from __future__ import annotations

import base64
import getpass
import subprocess
import sys
import threading
import time
import tomllib
import unicodedata

import pytest

from classifier import auth
from classifier.__main__ import main as cli_main
from classifier.auth import (
    ENV_PASSWORD_HASH,
    LIMITED,
    OK,
    WRONG,
    PresenterSettings,
    RateLimiter,
    grants_presenter,
    hash_password,
    load_settings,
    verify_password,
)
from tests.support import ROOT

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def stored():
    return hash_password(PASSWORD)


# --- Hashing ----------------------------------------------------------------------------------


def test_a_hash_verifies_its_password(stored):
    assert stored.startswith("scrypt$32768$8$1$")
    assert PASSWORD not in stored
    assert verify_password(PASSWORD, stored)


@pytest.mark.parametrize(
    "attempt",
    [
        "",
        "correct horse battery stapl",
        "correct horse battery staple ",
        "Correct horse battery staple",
        PASSWORD * 1000,
        "x" * 10_000_000,
        "\x00",
        PASSWORD + "\x00",
        "\ud800",
        "🔑" * 50,
        "\u202e" + PASSWORD,
        None,
        123,
        PASSWORD.encode(),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_a_hash_refuses_every_other_password(stored, attempt):
    assert verify_password(attempt, stored) is False


def test_odd_unicode_passwords_work_and_normalisation_is_forgiving():
    password = "Grüße, 密码 🔑 \u202e\ud800"
    stored = hash_password(password)
    assert verify_password(password, stored)
    assert not verify_password(password.replace("ü", "u"), stored)
    # "ü" typed as one code point (NFC) or as u + combining diaeresis (NFD, macOS) is the same.
    nfd = unicodedata.normalize("NFD", "Grüße")
    assert verify_password(nfd, hash_password("Grüße"))


def test_two_hashes_of_the_same_password_differ():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]  # the salts
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)


@pytest.mark.parametrize("password", ["", "pass\x00word", "x" * (auth.MAX_PASSWORD_CHARS + 1)])
def test_an_empty_or_absurd_password_cannot_be_hashed(password):
    with pytest.raises(ValueError):
        hash_password(password)


def _with_part(stored: str, index: int, value: str) -> str:
    parts = stored.split("$")
    parts[index] = value
    return "$".join(parts)


def _malformed(stored: str) -> list[object]:
    salt, digest = stored.split("$")[4:]
    flipped = base64.b64encode(
        bytes([base64.b64decode(digest)[0] ^ 1]) + base64.b64decode(digest)[1:]
    )
    return [
        "",
        "scrypt",
        PASSWORD,  # a plain password pasted instead of a hash
        "$$$$$",
        stored + "$",
        stored[:-4],
        "bcrypt" + stored[6:],
        stored.upper(),
        _with_part(stored, 1, "x"),
        _with_part(stored, 1, "-32768"),
        _with_part(stored, 1, "32767"),  # not a power of two
        _with_part(stored, 1, "0"),
        _with_part(stored, 1, str(2**40)),
        _with_part(stored, 1, "３２７６８"),  # full-width digits
        _with_part(stored, 1, " 32768"),
        _with_part(stored, 2, "0"),
        _with_part(stored, 3, "1000000"),
        _with_part(stored, 4, "not base64!"),
        _with_part(stored, 4, "AA=="),  # a one-byte salt
        _with_part(stored, 4, "é" + salt),
        _with_part(stored, 5, ""),
        _with_part(stored, 5, "\ud800"),
        _with_part(stored, 5, flipped.decode()),  # one bit changed
        stored.replace("$", "$\x00", 1),
        "scrypt$" + "9" * 100_000,
        None,
        12345,
        stored.encode(),
        ["scrypt", 32768],
    ]


def test_malformed_stored_strings_give_false_and_never_raise(stored):
    for bad in _malformed(stored):
        assert verify_password(PASSWORD, bad) is False, repr(bad)[:60]


def test_a_huge_cost_in_a_stored_string_is_refused_at_once(stored):
    start = time.perf_counter()
    assert not verify_password(PASSWORD, _with_part(stored, 1, str(2**24)))
    assert not verify_password(PASSWORD, _with_part(stored, 3, "16"))
    assert not verify_password(PASSWORD, _with_part(stored, 2, "64"))
    assert time.perf_counter() - start < 0.5


# --- Settings ---------------------------------------------------------------------------------


def test_nothing_configured_means_everyone_is_presenter():
    settings = load_settings({}, {})
    assert settings == PresenterSettings()
    assert not settings.enabled
    assert grants_presenter(settings, password_ok=False, email=None)


def test_a_password_hash_in_secrets_enables_the_role(stored):
    settings = load_settings({"presenter": {"password_hash": stored}}, {})
    assert settings.enabled and settings.password_enabled and not settings.login_enabled
    assert settings.password_hash == stored
    assert settings.warnings == ()


def test_the_environment_overrides_the_secret(stored):
    other = hash_password("another password")
    secrets = {"presenter": {"password_hash": stored}}
    settings = load_settings(secrets, {ENV_PASSWORD_HASH: f" {other}\n"})
    assert settings.password_hash == other
    assert verify_password("another password", settings.password_hash)
    assert not verify_password(PASSWORD, settings.password_hash)
    # An empty variable is a mistake, not "unset": it fails closed instead of falling back.
    empty = load_settings(secrets, {ENV_PASSWORD_HASH: ""})
    assert empty.misconfigured and not grants_presenter(empty, password_ok=True, email=None)
    assert load_settings({}, {ENV_PASSWORD_HASH: other}).enabled


def test_presenter_emails_are_cleaned_and_need_auth():
    secrets = {
        "auth": {"redirect_uri": "https://studio.example/oauth2callback", "cookie_secret": "x"},
        "presenter": {"emails": [" Ada@Example.org", "ada@example.org", "bob@example.org", ""]},
    }
    settings = load_settings(secrets, {})
    assert settings.presenters == ("ada@example.org", "bob@example.org")
    assert settings.oidc and settings.login_enabled and settings.enabled
    assert settings.warnings == ()
    one = load_settings({"auth": {"a": 1}, "presenter": {"emails": "Ada@Example.org, b@c.d"}}, {})
    assert one.presenters == ("ada@example.org", "b@c.d")


def test_emails_without_auth_lock_the_buttons_and_say_why():
    settings = load_settings({"presenter": {"emails": ["ada@example.org"]}}, {})
    assert settings.enabled and not settings.login_enabled
    assert not grants_presenter(settings, password_ok=False, email="ada@example.org")
    assert any("[auth]" in warning for warning in settings.warnings)


def test_auth_alone_makes_everyone_a_viewer_and_says_why():
    settings = load_settings({"auth": {"client_id": "x"}}, {})
    assert settings.oidc and settings.enabled and settings.misconfigured
    assert not grants_presenter(settings, password_ok=False, email="anyone@example.org")
    assert any("no presenter is named" in warning for warning in settings.warnings)


def test_a_pasted_plain_password_fails_closed():
    settings = load_settings({"presenter": {"password_hash": PASSWORD}}, {})
    assert settings.enabled
    assert not verify_password(PASSWORD, settings.password_hash)
    assert any(
        "python -m classifier presenter-password" in warning for warning in settings.warnings
    )


class _Exploding(dict):
    """Like st.secrets when secrets.toml does not parse: every look-up raises."""

    def __contains__(self, key):
        raise FileNotFoundError("no secrets.toml")

    def __getitem__(self, key):
        raise FileNotFoundError("no secrets.toml")


@pytest.mark.parametrize(
    ("secrets", "environ"),
    [
        (_Exploding(), {}),
        ({}, _Exploding()),
        ("presenter", {}),
        ({"presenter": "password"}, {}),
        ({"presenter": ["a@b.c"]}, {}),
        ({"presenter": None}, {}),
        ({"presenter": {"password_hash": 123}}, {}),
        ({"presenter": {"password_hash": ["x"]}}, {}),
        ({"presenter": {"password_hash": {"n": 1}}}, {}),
        ({"presenter": {"password_hash": "   "}}, {}),
        ({"presenter": {"emails": 5}}, {}),
        ({"presenter": {"emails": {"a@b.c": True}}}, {}),
        ({"presenter": {"emails": [1, None, "not an e-mail", "@", ["a@b.c"]]}}, {}),
        ({"presenter": {"emails": [1, "a@b.c"]}}, {}),
        ({"auth": "yes"}, {}),
        ({"auth": {}}, {}),
        ({}, {ENV_PASSWORD_HASH: 42}),
        ({}, {ENV_PASSWORD_HASH: "scrypt$1"}),
    ],
)
def test_odd_settings_never_raise_and_fail_closed(secrets, environ):
    """Issue 19: these once left everyone presenter; now each locks the role and says why."""
    settings = load_settings(secrets, environ)
    assert settings.enabled and settings.misconfigured
    assert not grants_presenter(settings, password_ok=True, email="a@b.c", email_verified=True)
    assert settings.oidc is False
    assert all(isinstance(warning, str) and warning for warning in settings.warnings)


def test_no_settings_at_all_never_raise_and_leave_everyone_presenter():
    settings = load_settings(None, None)
    assert not settings.enabled and settings.warnings == ()


def test_settings_from_a_real_secrets_file(stored):
    text = f"""
[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "a long random string"
client_id = "id"
client_secret = "secret"
server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"

[presenter]
password_hash = "{stored}"
emails = ["Teacher@School.example"]
"""
    settings = load_settings(tomllib.loads(text), {})
    assert settings.password_enabled and settings.login_enabled
    assert settings.presenters == ("teacher@school.example",)
    assert verify_password(PASSWORD, settings.password_hash)


# --- The role ---------------------------------------------------------------------------------

BOTH = PresenterSettings(password_hash="scrypt$...", presenters=("ada@example.org",), oidc=True)
PASSWORD_ONLY = PresenterSettings(password_hash="scrypt$...")
LOGIN_ONLY = PresenterSettings(presenters=("ada@example.org",), oidc=True)
EMAILS_NO_AUTH = PresenterSettings(presenters=("ada@example.org",))


@pytest.mark.parametrize(
    ("settings", "password_ok", "email", "expected"),
    [
        (PresenterSettings(), False, None, True),
        (PresenterSettings(oidc=True), False, "anyone@example.org", True),
        (PASSWORD_ONLY, False, None, False),
        (PASSWORD_ONLY, True, None, True),
        (PASSWORD_ONLY, False, "ada@example.org", False),
        (LOGIN_ONLY, False, None, False),
        (LOGIN_ONLY, True, None, False),  # no password is configured: a stale flag is ignored
        (LOGIN_ONLY, False, "ada@example.org", True),
        (LOGIN_ONLY, False, "  ADA@Example.ORG ", True),
        (LOGIN_ONLY, False, "eve@example.org", False),
        (LOGIN_ONLY, False, "ada@example.org.evil", False),
        (LOGIN_ONLY, False, "", False),
        (LOGIN_ONLY, False, ["ada@example.org"], False),
        (EMAILS_NO_AUTH, False, "ada@example.org", False),
        (BOTH, True, None, True),
        (BOTH, False, "ada@example.org", True),
        (BOTH, False, "eve@example.org", False),
        (BOTH, "yes", None, False),  # only a real True counts
    ],
)
def test_who_is_presenter(settings, password_ok, email, expected):
    assert grants_presenter(
        settings, password_ok=password_ok, email=email, email_verified=True
    ) is (expected)


@pytest.mark.parametrize("verified", [False, None, "false", "true", 1, "yes"], ids=repr)
def test_an_unverified_email_is_not_trusted(verified):
    """Only the boolean True counts: a string "false" once did, and a missing claim too."""
    assert not grants_presenter(
        LOGIN_ONLY, password_ok=False, email="ada@example.org", email_verified=verified
    )
    assert not grants_presenter(LOGIN_ONLY, password_ok=False, email="ada@example.org")
    assert grants_presenter(
        LOGIN_ONLY, password_ok=False, email="ada@example.org", email_verified=True
    )


# --- Rate limit -------------------------------------------------------------------------------


def test_the_sixth_failure_within_a_minute_is_refused_until_the_window_passes():
    limiter = RateLimiter()
    for second in range(5):
        assert limiter.allow("10.0.0.7", now=100.0 + 2 * second)
        limiter.record_failure("10.0.0.7", now=100.0 + 2 * second)
    assert not limiter.allow("10.0.0.7", now=110.0)
    assert limiter.retry_after("10.0.0.7", now=110.0) == pytest.approx(50.0)
    assert not limiter.allow("10.0.0.7", now=159.9)
    assert limiter.allow("10.0.0.7", now=160.0)  # the first failure is a minute old
    assert limiter.allow("10.0.0.8", now=110.0)  # another client is not affected


def test_every_client_waits_a_moment_after_any_failure():
    limiter = RateLimiter(global_backoff=1.0)
    limiter.record_failure("a", now=50.0)
    assert not limiter.allow("b", now=50.5)
    assert limiter.retry_after("b", now=50.5) == pytest.approx(0.5)
    assert limiter.allow("b", now=51.0)


def test_a_right_password_forgets_the_failures():
    limiter = RateLimiter()
    for second in range(5):
        limiter.record_failure("k", now=float(second * 2))
    assert not limiter.allow("k", now=10.0)
    limiter.reset("k")
    assert limiter.allow("k", now=10.0)
    assert len(limiter) == 0


def test_memory_stays_bounded_with_100000_distinct_keys():
    limiter = RateLimiter(max_keys=10_000, global_backoff=0.0)
    for index in range(100_000):
        limiter.record_failure(f"client-{index}" * 10, now=index * 0.001)
    assert len(limiter) <= 10_000
    # The keys of the flood expire, and the table shrinks again as failures come in.
    for index in range(100):
        limiter.record_failure(f"later-{index}", now=1000.0 + index)
    assert len(limiter) <= 100


def test_concurrent_failures_are_all_counted():
    limiter = RateLimiter(max_failures=800, global_backoff=0.0)

    def fail():
        for _ in range(100):
            limiter.record_failure("shared", now=1.0)

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not limiter.allow("shared", now=1.0)
    assert limiter.allow("shared", now=61.0)


def test_attempt_checks_and_limits(stored):
    limiter = RateLimiter()
    assert limiter.attempt("k", lambda: verify_password("wrong", stored), now=0.0) == WRONG
    assert limiter.attempt("k", lambda: verify_password(PASSWORD, stored), now=0.5) == LIMITED
    assert limiter.attempt("k", lambda: verify_password(PASSWORD, stored), now=1.0) == OK
    for second in range(5):
        assert limiter.attempt("k", lambda: False, now=10.0 + second) == WRONG
    assert limiter.attempt("k", lambda: True, now=20.0) == LIMITED  # not even checked
    assert limiter.attempt("k", lambda: 1 / 0, now=80.0) == WRONG  # a failing check is wrong


def test_parallel_sessions_cannot_slip_past_the_limit():
    limiter = RateLimiter(global_backoff=0.0)
    checks = []

    def slow_wrong_check():
        checks.append(1)
        time.sleep(0.01)
        return False

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(limiter.attempt("k", slow_wrong_check)))
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checks) == 5
    assert results.count(WRONG) == 5 and results.count(LIMITED) == 15


# --- Command line and layering ----------------------------------------------------------------


def test_main_prints_a_line_to_paste(monkeypatch, capsys):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    assert cli_main(["presenter-password"]) == 0
    out = capsys.readouterr().out
    assert PASSWORD not in out
    settings = load_settings(tomllib.loads(out), {})
    assert settings.enabled and verify_password(PASSWORD, settings.password_hash)


@pytest.mark.parametrize("answers", [[PASSWORD, PASSWORD + "!"], ["", ""]])
def test_main_prints_nothing_for_mismatched_or_empty_passwords(monkeypatch, capsys, answers):
    typed = iter(answers)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    assert cli_main(["presenter-password"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "nothing printed" in captured.err


def test_the_module_needs_no_streamlit():
    code = "import sys, classifier.auth; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0
