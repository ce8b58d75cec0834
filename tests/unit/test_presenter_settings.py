"""Presenter settings fail closed (issue 19): any present-but-invalid setting makes everyone a
viewer, says why without showing a secret, and is logged once; only a fully absent
configuration leaves everyone presenter. The password limit lives outside Streamlit's caches."""

from __future__ import annotations

import logging
import tomllib
from types import SimpleNamespace

import pytest

from classifier import auth
from classifier.auth import ENV_PASSWORD_HASH, grants_presenter, hash_password, load_settings

PASSWORD = "a long presenter password"
AUTH = {
    "redirect_uri": "https://studio.example/oauth2callback",
    "cookie_secret": "a long random string",
    "client_id": "id",
    "client_secret": "the client secret",
    "server_metadata_url": "https://accounts.example/.well-known/openid-configuration",
}


@pytest.fixture(scope="module")
def good_hash() -> str:
    return hash_password(PASSWORD)


def locked(settings: auth.PresenterSettings) -> bool:
    """Nobody is presenter, whatever the session did or who logged in."""
    return settings.enabled and not any(
        grants_presenter(settings, password_ok=password_ok, email=email, email_verified=True)
        for password_ok in (True, False)
        for email in (None, "ada@example.org", "teacher@school.example")
    )


def test_only_a_fully_absent_configuration_leaves_everyone_presenter():
    for secrets, environ in [
        ({}, {}),
        (None, None),
        ({"database": {"password": "x"}}, {"PATH": "/usr/bin"}),  # not ours: ignored
    ]:
        settings = load_settings(secrets, environ)
        assert not settings.enabled and settings.warnings == ()
        assert grants_presenter(settings, password_ok=False, email=None)


# Each of these made everyone presenter before issue 19 (or left it so, silently).
MISTAKES = {
    "a PIN without quotes": ({"presenter": {"password_hash": 123456}}, {}),
    "an empty hash": ({"presenter": {"password_hash": ""}}, {}),
    "a blank hash": ({"presenter": {"password_hash": "   "}}, {}),
    "a typo in the key": ({"presenter": {"password-hash": "scrypt$32768$8$1$x$y"}}, {}),
    "an unknown key": ({"presenter": {"password": "hunter2 hunter2"}}, {}),
    "a list as hash": ({"presenter": {"password_hash": ["x"]}}, {}),
    "a table as hash": ({"presenter": {"password_hash": {"n": 1}}}, {}),
    "a bool as hash": ({"presenter": {"password_hash": True}}, {}),
    "not an e-mail": ({"auth": AUTH, "presenter": {"emails": ["teacher"]}}, {}),
    "one bad e-mail among good": (
        {"auth": AUTH, "presenter": {"emails": ["ada@example.org", "teacher"]}},
        {},
    ),
    "e-mails of the wrong type": ({"auth": AUTH, "presenter": {"emails": 5}}, {}),
    "e-mails as a table": ({"auth": AUTH, "presenter": {"emails": {"a@b.c": True}}}, {}),
    "e-mails under [auth]": ({"auth": {**AUTH, "emails": ["teacher"]}}, {}),
    "good e-mails under [auth]": ({"auth": {**AUTH, "emails": ["ada@example.org"]}}, {}),
    "[auth] alone": ({"auth": AUTH}, {}),
    "an empty [auth]": ({"auth": {}}, {}),
    "[auth] not a table": ({"auth": "yes"}, {}),
    "an empty [presenter]": ({"presenter": {}}, {}),
    "[presenter] not a table": ({"presenter": "password"}, {}),
    "[presenter] a list": ({"presenter": ["a@b.c"]}, {}),
    "[presenter] None": ({"presenter": None}, {}),
    "an empty environment variable": ({}, {ENV_PASSWORD_HASH: ""}),
    "a blank environment variable": ({}, {ENV_PASSWORD_HASH: "  \n"}),
    "an environment variable of the wrong type": ({}, {ENV_PASSWORD_HASH: 42}),
    "a malformed environment variable": ({}, {ENV_PASSWORD_HASH: "scrypt$1"}),
    "a pasted plain password": ({"presenter": {"password_hash": PASSWORD}}, {}),
    "secrets that cannot be read": ("not a mapping", {}),
}


@pytest.mark.parametrize(("secrets", "environ"), MISTAKES.values(), ids=MISTAKES.keys())
def test_every_present_but_invalid_setting_makes_everyone_a_viewer(secrets, environ):
    settings = load_settings(secrets, environ)
    assert settings.warnings, "a mistake must say what is wrong"
    assert all(isinstance(warning, str) and warning for warning in settings.warnings)
    assert locked(settings)
    assert not settings.password_enabled and not settings.login_enabled


@pytest.mark.parametrize(
    "extra",
    [
        {"password-hash": "x"},  # a typo next to the right key
        {"emails": ["teacher"]},
        {"emails": "not-an-address"},
    ],
    ids=repr,
)
def test_a_mistake_next_to_a_valid_hash_still_locks(good_hash, extra):
    settings = load_settings({"auth": AUTH, "presenter": {"password_hash": good_hash, **extra}}, {})
    assert locked(settings)


def test_a_valid_environment_variable_does_not_hide_a_broken_secret(good_hash):
    settings = load_settings(
        {"presenter": {"password_hash": 123456}}, {ENV_PASSWORD_HASH: good_hash}
    )
    assert locked(settings)


def test_a_broken_environment_variable_does_not_fall_back_to_the_secret(good_hash):
    settings = load_settings({"presenter": {"password_hash": good_hash}}, {ENV_PASSWORD_HASH: ""})
    assert locked(settings)


class _Raising(dict):
    """Like st.secrets when secrets.toml exists but does not parse: every look-up raises."""

    def __contains__(self, key):
        raise RuntimeError("Error parsing secrets file")

    def __getitem__(self, key):
        raise RuntimeError("Error parsing secrets file")


def test_secrets_that_raise_fail_closed():
    assert locked(load_settings(_Raising(), {}))
    assert locked(load_settings({}, _Raising()))


@pytest.mark.parametrize(
    "text",
    [
        "[presenter]\npassword_hash = 123456\n",
        '[presenter]\npassword_hash = ""\n',
        '[presenter]\npassword-hash = "scrypt$32768$8$1$abc$def"\n',
        '[presenter]\nemails = ["teacher"]\n',
        '[auth]\nclient_id = "x"\nemails = ["teacher"]\n',
        '[auth]\nclient_id = "x"\n\n[presenter]\nemails = ["teacher"]\n',
    ],
)
def test_the_mistakes_of_the_issue_as_written_in_secrets_toml(text):
    assert locked(load_settings(tomllib.loads(text), {}))


def test_the_messages_name_the_setting_and_never_show_a_secret(good_hash):
    secrets = {
        "auth": {**AUTH, "emails": ["boss@secret.example"]},
        "presenter": {
            "password_hash": "my plain password 1234",
            "emails": ["teacher", "ada@example.org"],
            "pasword_hash": good_hash,
        },
    }
    environ = {ENV_PASSWORD_HASH: "scrypt$also-secret"}
    text = " ".join(load_settings(secrets, environ).warnings)
    for secret in [
        "my plain password",
        "1234",
        "teacher",
        "ada@example.org",
        "boss@secret.example",
        "also-secret",
        good_hash.split("$")[-1],
        AUTH["client_secret"],
        AUTH["cookie_secret"],
    ]:
        assert secret not in text, secret
    assert "pasword_hash" in text  # an unknown key is named, so the typo can be found
    assert "emails" in text and ENV_PASSWORD_HASH in text


def test_the_message_for_a_pin_without_quotes_says_how_to_fix_it():
    (message,) = load_settings({"presenter": {"password_hash": 123456}}, {}).warnings
    assert "password_hash" in message and "quoted string" in message
    assert "123456" not in message


def test_an_unknown_key_name_cannot_inject_markdown_or_grow_the_message():
    key = "`**x**`<b>" + "k" * 500
    (message,) = load_settings({"presenter": {key: "v"}}, {}).warnings
    assert "`**" not in message and "<b>" not in message and len(message) < 300


def test_the_summary_for_the_page(good_hash):
    broken = load_settings({"presenter": {"password_hash": 123456}}, {})
    assert broken.summary().startswith("Presenter settings are invalid (")
    assert broken.summary().endswith("everyone is a viewer until it is fixed.")
    assert load_settings({"presenter": {"password_hash": good_hash}}, {}).summary() == ""
    assert load_settings({}, {}).summary() == ""


def test_problems_are_logged_once_per_process_not_per_rerun(caplog, monkeypatch):
    monkeypatch.setattr(auth, "_logged_problems", set())
    settings = load_settings({"presenter": {"password_hash": 123456, "oops": 1}}, {})
    with caplog.at_level(logging.WARNING, logger="classifier.auth"):
        for _ in range(5):  # five reruns
            auth.log_problems(
                load_settings({"presenter": {"password_hash": 123456, "oops": 1}}, {})
            )
    records = [record for record in caplog.records if record.name == "classifier.auth"]
    assert len(records) == len(settings.warnings) == 2
    assert all(record.levelno == logging.WARNING for record in records)
    assert "everyone is a viewer" in records[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="classifier.auth"):
        auth.log_problems(load_settings({}, {}))  # nothing wrong: nothing logged
        auth.log_problems(load_settings({"presenter": {}}, {}))  # a new problem: logged
    assert len(caplog.records) == 1


# --- email_verified ---------------------------------------------------------------------------

LOGIN_ONLY = load_settings({"auth": AUTH, "presenter": {"emails": ["ada@example.org"]}}, {})


@pytest.mark.parametrize(
    "verified", ["false", "true", "True", 1, 0, None, "", [True], {"value": True}], ids=repr
)
def test_only_the_boolean_true_counts_as_verified(verified):
    assert LOGIN_ONLY.login_enabled and LOGIN_ONLY.warnings == ()
    assert not grants_presenter(
        LOGIN_ONLY, password_ok=False, email="ada@example.org", email_verified=verified
    )
    assert grants_presenter(
        LOGIN_ONLY, password_ok=False, email="ada@example.org", email_verified=True
    )


# --- The rate limit lives outside Streamlit's caches -------------------------------------------


def test_the_login_limiter_is_one_per_process_and_survives_a_clients_clear_cache():
    from streamlit.runtime.app_session import AppSession

    limiter = auth.login_limiter()
    limiter.clear()
    try:
        for _ in range(limiter.max_failures):
            limiter.record_failure("10.0.0.9")
        assert not limiter.allow("10.0.0.9")
        # Exactly what Streamlit does with a client's "clear_cache" message (any viewer).
        AppSession._handle_clear_cache_request(SimpleNamespace(_session_state={}))
        assert auth.login_limiter() is limiter
        assert not auth.login_limiter().allow("10.0.0.9")
    finally:
        limiter.clear()
    assert limiter.allow("10.0.0.9") and len(limiter) == 0


# --- A secrets.toml that does not parse ---------------------------------------------------------


@pytest.fixture
def secrets_file(tmp_path, monkeypatch):
    """Point Streamlit at one secrets.toml in tmp_path (not yet written) with fresh secrets."""
    import streamlit as st
    from streamlit import config
    from streamlit.runtime.secrets import Secrets

    path = tmp_path / "secrets.toml"
    before = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(path)])
    monkeypatch.setattr(st, "secrets", Secrets())
    yield path
    config.set_option("secrets.files", before)


def test_a_secrets_file_that_does_not_parse_makes_everyone_a_viewer(secrets_file):
    from ui import access

    # The hash pasted without quotes: a TOML syntax error, so Streamlit reads no secrets at all.
    secrets_file.write_text("[presenter]\npassword_hash = scrypt$32768$8$1$abc$def\n")
    settings = access.presenter_settings()
    assert locked(settings)
    assert "cannot be read" in settings.summary() and "scrypt" not in settings.summary()


def test_no_secrets_file_at_all_is_an_absent_configuration(secrets_file, monkeypatch):
    from ui import access

    monkeypatch.delenv(ENV_PASSWORD_HASH, raising=False)
    assert not secrets_file.exists()
    assert not access.presenter_settings().enabled
    secrets_file.write_text("[presenter]\npassword_hash = 123456\n")
    assert locked(access.presenter_settings())
