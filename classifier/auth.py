"""Who may train, stop and delete runs: an optional presenter role (plain Python, no Streamlit).

By default (nothing configured) everyone is presenter: one person on their own machine. When
the app is served to a room, the owner configures a presenter and everyone else is a viewer
who can browse, verify, upload and take the quiz, but not Train, Stop or Delete.

Two ways to become presenter, both configured in ``.streamlit/secrets.toml``:

- **Log in** with ``st.login`` (OpenID Connect; the ``[auth]`` section, which needs Authlib)
  with an e-mail listed in ``[presenter] emails``. Where an identity provider exists, prefer
  this: nothing is shared, and each presenter logs out on their own.
- **A shared presenter password**, where no identity provider exists. ``python -m
  classifier presenter-password`` asks for it twice and prints the line to paste under
  ``[presenter]``.

What is stored: never the password, only ``scrypt$n$r$p$salt$hash`` (base64 salt and hash):
scrypt (``hashlib.scrypt``, standard library) with a fresh 16-byte random salt from
``secrets``. scrypt is deliberately slow and memory-hard (here n=2**15, r=8, p=1: 32 MiB and
about 0.1 s), so a leaked ``secrets.toml`` cannot be tested against billions of guesses a
second on a GPU the way a plain SHA-256 could; the salt makes every hash different, even of the
same password, so nothing can be precomputed. The password is NFC-normalised first (the same
word typed on macOS and Linux gives the same bytes). The computed hash is compared with
``hmac.compare_digest``, whose time does not depend on where the first differing byte is.
``CLASSIFIER_PRESENTER_PASSWORD_HASH`` in the environment overrides the secret (tests, CI);
quote it with single quotes in a shell, because of the ``$``.

Configuration mistakes fail closed: only a fully absent configuration (no ``[presenter]``, no
``[auth]``, no variable) leaves everyone presenter. Any present-but-invalid setting (an unknown
key such as ``password-hash``, a PIN without quotes, an empty or malformed hash, an item of
``emails`` that is not an e-mail address, ``emails`` under ``[auth]``, e-mails without
``[auth]``, a secrets file that does not parse) makes everyone a viewer until it is fixed. The
mistakes are listed in ``PresenterSettings.warnings`` in words that name a setting, never its
value; the page shows them to everyone and ``log_problems`` logs each once per process.

The rate limit (``RateLimiter``), in memory, per server process: ``login_limiter()``, a
module-level object outside every Streamlit cache (a client's "Clear cache" cannot reset it;
a server restart does):

- per client key (e.g. ``st.context.ip_address``): at most 5 failed attempts in any 60 s; the
  6th is refused without checking the password until the oldest failure is a minute old;
- globally: after any failure, every client waits 1 s before the next attempt, so rotating
  keys (new tabs, many addresses) cannot exceed about 60 guesses a minute in total;
- ``attempt`` checks one password at a time for the whole server (a lock), so parallel
  sessions cannot slip past the limit together and scrypt's memory is needed once at a time;
- at most 10,000 keys are remembered (those that failed least recently are dropped, each is
  stored as a 16-byte digest), so a flood of distinct keys cannot grow memory without bound;
  a dropped key forgets its failures, which the global wait still caps.

The key: ``st.context.ip_address`` is the proxy's address behind a reverse proxy (None on
loopback), so every client then shares one key: a guesser blocks the password for everyone for
a minute (it fails closed); a presenter who logs in with ``st.login`` is not affected.

A wrong password is refused the same way whether it is wrong, empty or absurd; the limit is
a nuisance to a guesser, not a defence for a weak password: choose a long one.

**The server must check the role in every action handler** (Train, Stop, Delete, and anything
added later), right before acting, with ``is_presenter``: hiding or disabling a button only
changes what the browser draws, and a viewer can still send the widget's message. Keep the
role per session (``st.session_state``), never in the URL or a client-set value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import re
import secrets
import threading
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# --- Password hashing -------------------------------------------------------------------------

SCHEME = "scrypt"
SCRYPT_N = 2**15  # CPU/memory cost: 128 * n * r bytes = 32 MiB
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MAX_PASSWORD_CHARS = 1024

# Bounds on what a stored string may ask for, so a typo cannot hang or exhaust the server.
_MAX_N = 2**20
_MAX_R = 32
_MAX_P = 16
_MAX_WORK = 2**21  # n * r * p, about 0.6 s; the default is 2**18
_MAX_MEMORY = 2**28  # bytes (256 MiB)
_DIGITS = re.compile(r"[0-9]{1,8}")

ENV_PASSWORD_HASH = "CLASSIFIER_PRESENTER_PASSWORD_HASH"


def _password_bytes(password: str) -> bytes:
    # surrogatepass: a lone surrogate (odd input from a browser) still encodes, deterministically.
    # No NUL is allowed: scrypt's HMAC pads its key with zeros, so "pw" and "pw\0" would match.
    return unicodedata.normalize("NFC", password).encode("utf-8", "surrogatepass")


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    maxmem = 128 * r * (n + p + 2) + 2**20
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """Return ``scrypt$n$r$p$salt_b64$hash_b64`` for ``password``, with a fresh random salt.

    Raises ValueError for an empty password, one with a NUL character or one longer than
    MAX_PASSWORD_CHARS (verify_password refuses those too).
    """
    if not isinstance(password, str):
        raise TypeError("the password must be a string")
    if not password:
        raise ValueError("the password must not be empty")
    if "\x00" in password:
        raise ValueError("the password must not contain NUL characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"the password must be at most {MAX_PASSWORD_CHARS} characters")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(_password_bytes(password), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return f"{SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def parse_hash(stored: object) -> tuple[int, int, int, bytes, bytes] | None:
    """``(n, r, p, salt, hash)`` from a stored string, or None if it is not one we accept."""
    if not isinstance(stored, str) or len(stored) > 1000:
        return None
    parts = stored.strip().split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    if not all(_DIGITS.fullmatch(part) for part in parts[1:4]):
        return None
    n, r, p = (int(part) for part in parts[1:4])
    if n < 2 or n > _MAX_N or n & (n - 1) or not 1 <= r <= _MAX_R or not 1 <= p <= _MAX_P:
        return None
    if n * r * p > _MAX_WORK or 128 * r * (n + p) > _MAX_MEMORY:
        return None
    try:
        salt = base64.b64decode(parts[4].encode("ascii"), validate=True)
        expected = base64.b64decode(parts[5].encode("ascii"), validate=True)
    except (ValueError, binascii.Error):  # UnicodeEncodeError is a ValueError too
        return None
    if not 8 <= len(salt) <= 64 or len(expected) != HASH_BYTES:
        return None
    return n, r, p, salt, expected


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches ``stored``; False for anything else, never an exception."""
    try:
        parsed = parse_hash(stored)
        if parsed is None or not isinstance(password, str) or not password:
            return False
        if len(password) > MAX_PASSWORD_CHARS or "\x00" in password:
            return False
        n, r, p, salt, expected = parsed
        actual = _scrypt(_password_bytes(password), salt, n, r, p, len(expected))
        return hmac.compare_digest(actual, expected)
    except (ValueError, TypeError, MemoryError, OverflowError):
        return False


# --- Settings ---------------------------------------------------------------------------------

PRESENTER_KEYS = ("password_hash", "emails")  # everything [presenter] may hold
INVALID_PREFIX = "Presenter settings are invalid"
_ABSENT = object()
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class PresenterSettings:
    """Who is presenter, as configured in ``.streamlit/secrets.toml`` and the environment."""

    password_hash: str | None = None
    presenters: tuple[str, ...] = ()  # allowed e-mails, lower-cased
    oidc: bool = False  # an [auth] section exists, so st.login can work
    # Configuration mistakes, in words safe to show anyone (a setting's name, never its value).
    # Any one of them makes everyone a viewer: the page shows them, the server log has them.
    warnings: tuple[str, ...] = ()

    @property
    def misconfigured(self) -> bool:
        """True when a setting is present but invalid: nobody is presenter until it is fixed."""
        return bool(self.warnings)

    @property
    def enabled(self) -> bool:
        """True when a presenter is configured (or a mistake locks the role); False, only for
        a fully absent configuration, means everyone is presenter."""
        return self.misconfigured or self.password_hash is not None or bool(self.presenters)

    @property
    def password_enabled(self) -> bool:
        return not self.misconfigured and self.password_hash is not None

    @property
    def login_enabled(self) -> bool:
        """True when presenters can log in with st.login."""
        return not self.misconfigured and self.oidc and bool(self.presenters)

    def summary(self) -> str:
        """One sentence for the page and the log; empty when nothing is wrong."""
        if not self.warnings:
            return ""
        problems = "; ".join(self.warnings)
        return f"{INVALID_PREFIX} ({problems}); everyone is a viewer until it is fixed."


class _Unreadable(Exception):
    """Settings that are not a mapping, or raise when read (a secrets.toml that does not parse)."""


def _lookup(mapping: object, key: str) -> object:
    """``mapping[key]``; ``_ABSENT`` for a missing key or no mapping at all (None)."""
    if mapping is None:
        return _ABSENT
    if not isinstance(mapping, Mapping):
        raise _Unreadable(type(mapping).__name__)
    try:
        return mapping[key] if key in mapping else _ABSENT
    except Exception as error:
        raise _Unreadable(type(error).__name__) from error


def _key_name(key: object) -> str:
    """A key's name, safe to show in Markdown and the log (an unknown key may be a typo)."""
    name = _UNSAFE_KEY_CHARS.sub("?", str(key))
    return f"`{name[:40]}{'...' if len(name) > 40 else ''}`"


def _checked_hash(value: object, name: str, problems: list[str]) -> str | None:
    """``value`` if it is a hash made by ``python -m classifier presenter-password``; else
    a problem."""
    if not isinstance(value, str):
        problems.append(f"{name} must be a quoted string")
    elif not value.strip():
        problems.append(f"{name} is empty")
    elif parse_hash(value) is None:
        problems.append(f"{name} is not a hash made by `python -m classifier presenter-password`")
    else:
        return value.strip()
    return None


def _emails(value: object) -> tuple[tuple[str, ...], bool]:
    """Lower-cased, de-duplicated e-mails from a list (or a comma-separated string), and
    whether every item was one (blank items are skipped, not mistakes)."""
    items: Iterable[object]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        return (), False
    found: dict[str, None] = {}
    valid = True
    for item in items:
        email = normalize_email(item)
        if email is not None:
            found[email] = None
        elif not (isinstance(item, str) and not item.strip()):
            valid = False
    return tuple(found), valid


def normalize_email(value: object) -> str | None:
    """``value`` stripped and lower-cased if it looks like an e-mail address, else None."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    if len(email) > 320 or email.count("@") != 1 or email.startswith("@") or email.endswith("@"):
        return None
    if any(ch.isspace() for ch in email):
        return None
    return email


def load_settings(secrets: object, environ: object) -> PresenterSettings:
    """Read ``[presenter]`` (``password_hash``, ``emails``) and ``[auth]`` from ``secrets`` and
    ``CLASSIFIER_PRESENTER_PASSWORD_HASH`` from ``environ`` (it overrides the secret).

    Fails closed and never raises. Only a fully absent configuration (no ``[presenter]``, no
    ``[auth]``, no variable) leaves everyone presenter. Any present-but-invalid setting (an
    unknown key in ``[presenter]``, a value of the wrong type, an empty or malformed hash, an
    item of ``emails`` that is not an e-mail address, ``emails`` under ``[auth]``, e-mails
    without ``[auth]``, secrets that cannot be read, or a configuration that names nobody)
    is named in ``warnings``, and then nobody is presenter.
    """
    problems: list[str] = []
    try:
        section, auth = _lookup(secrets, "presenter"), _lookup(secrets, "auth")
    except _Unreadable:
        problems.append("the secrets file cannot be read, e.g. a text value without quotes")
        section = auth = _ABSENT
    try:
        from_env = _lookup(environ, ENV_PASSWORD_HASH)
    except _Unreadable:
        problems.append("the environment cannot be read")
        from_env = _ABSENT

    table: Mapping = {}
    if isinstance(section, Mapping):
        table = section
    elif section is not _ABSENT:
        problems.append("[presenter] must be a table: a `[presenter]` line, then its settings")
    unknown = [key for key in table if key not in PRESENTER_KEYS]
    if unknown:
        names = ", ".join(_key_name(key) for key in unknown[:3])
        more = " and more" if len(unknown) > 3 else ""
        problems.append(
            f"[presenter] has an unknown setting {names}{more}; "
            "it takes only `password_hash` and `emails`"
        )

    password_hash: str | None = None
    stored = table.get("password_hash", _ABSENT)
    if stored is not _ABSENT:
        password_hash = _checked_hash(stored, "`password_hash`", problems)
    if from_env is not _ABSENT:  # the variable overrides the secret, but both must be valid
        password_hash = _checked_hash(from_env, f"`{ENV_PASSWORD_HASH}`", problems)

    presenters: tuple[str, ...] = ()
    emails = table.get("emails", _ABSENT)
    if emails is not _ABSENT:
        presenters, valid = _emails(emails)
        if not valid:
            problems.append("[presenter] `emails` must be a list of quoted e-mail addresses")

    oidc = False
    if isinstance(auth, Mapping) and len(auth) > 0:
        oidc = True
        if "emails" in auth:
            problems.append("`emails` is under [auth]: presenter e-mails belong under [presenter]")
    elif auth is not _ABSENT:
        problems.append("[auth] must be a table of the identity provider's settings")
    if presenters and auth is _ABSENT:
        problems.append("[presenter] `emails` need an [auth] section to log in with")

    configured = any(part is not _ABSENT for part in (section, auth, from_env))
    if configured and not problems and password_hash is None and not presenters:
        problems.append("no presenter is named: add `password_hash` or `emails` under [presenter]")
    return PresenterSettings(password_hash, presenters, oidc, tuple(dict.fromkeys(problems)))


_LOG = logging.getLogger(__name__)
_logged_problems: set[str] = set()  # what this process has logged already
_logged_lock = threading.Lock()


def log_problems(settings: PresenterSettings) -> None:
    """``logging.warning`` each configuration mistake once per process, not on every rerun."""
    with _logged_lock:
        new = [problem for problem in settings.warnings if problem not in _logged_problems]
        _logged_problems.update(new)
    for problem in new:
        _LOG.warning("%s (%s); everyone is a viewer until it is fixed.", INVALID_PREFIX, problem)


# --- The role ---------------------------------------------------------------------------------


def grants_presenter(
    settings: PresenterSettings,
    *,
    password_ok: bool,
    email: object,
    email_verified: object = None,
) -> bool:
    """May this session train, stop and delete? Check it in every action handler.

    ``password_ok``: this session's presenter password was accepted (``attempt`` said OK).
    ``email``: ``st.user.email`` when ``st.user.is_logged_in`` is True, else None.
    ``email_verified``: ``st.user.get("email_verified")``; only the boolean True counts (a
    string "false", a missing claim or anything else refuses).
    """
    if not settings.enabled:
        return True
    if settings.misconfigured:
        return False
    if password_ok is True and settings.password_hash is not None:
        return True
    if not settings.login_enabled or email_verified is not True:
        return False
    normalized = normalize_email(email)
    return normalized is not None and normalized in settings.presenters


# --- Rate limit -------------------------------------------------------------------------------

OK = "ok"
WRONG = "wrong"
LIMITED = "limited"


class RateLimiter:
    """Failed password attempts, per client key and in total; thread-safe, in memory.

    ``allow(key)`` before checking a password, ``record_failure(key)`` after a wrong one,
    ``reset(key)`` after a right one; or ``attempt(key, check)``, which does all three and
    checks one password at a time. ``now`` (seconds, any monotonic origin) is for tests.
    """

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window: float = 60.0,
        global_backoff: float = 1.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.global_backoff = global_backoff
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._checking = threading.Lock()
        self._failures: OrderedDict[bytes, deque[float]] = OrderedDict()
        self._global_until = -math.inf

    def __len__(self) -> int:
        """How many client keys are remembered."""
        with self._lock:
            return len(self._failures)

    @staticmethod
    def _id(key: str) -> bytes:
        return hashlib.blake2b(str(key).encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def _recent(self, ident: bytes, now: float) -> deque[float] | None:
        times = self._failures.get(ident)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[ident]
            return None
        return times

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Seconds until ``key`` may try again; 0 if it may now."""
        now = self._clock() if now is None else now
        with self._lock:
            wait = max(0.0, self._global_until - now)
            times = self._recent(self._id(key), now)
            if times is not None and len(times) >= self.max_failures:
                wait = max(wait, times[0] + self.window - now)
            return wait

    def allow(self, key: str, now: float | None = None) -> bool:
        """May ``key`` try a password now?"""
        return self.retry_after(key, now) <= 0.0

    def record_failure(self, key: str, now: float | None = None) -> None:
        """A wrong password from ``key``."""
        now = self._clock() if now is None else now
        ident = self._id(key)
        with self._lock:
            self._global_until = max(self._global_until, now + self.global_backoff)
            times = self._recent(ident, now)
            if times is None:
                times = self._failures[ident] = deque(maxlen=self.max_failures)
            else:
                self._failures.move_to_end(ident)
            times.append(now)
            self._evict(now)

    def _evict(self, now: float) -> None:
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)  # least recently failed
        # Drop expired keys from the old end (ordered by last failure), so memory shrinks once
        # a flood stops; each key is dropped once, so this costs O(1) per failure on average.
        while self._failures:
            oldest = next(iter(self._failures))
            if self._recent(oldest, now) is not None:  # None: it expired and was dropped
                break

    def reset(self, key: str) -> None:
        """Forget ``key``'s failures (after a right password)."""
        with self._lock:
            self._failures.pop(self._id(key), None)

    def clear(self) -> None:
        """Forget every failure and the global wait (tests; a restart does the same)."""
        with self._lock:
            self._failures.clear()
            self._global_until = -math.inf

    def attempt(
        self,
        key: str,
        check: Callable[[], bool],
        now: float | None = None,
        wait: float = 2.0,
    ) -> str:
        """Run ``check`` (e.g. ``lambda: verify_password(typed, settings.password_hash)``) if
        ``key`` may try now; one check at a time for the whole server. Returns OK, WRONG or
        LIMITED (not checked: too many failures, or another check took longer than ``wait``).
        """
        if not self._checking.acquire(timeout=wait):
            return LIMITED
        try:
            if not self.allow(key, now):
                return LIMITED
            try:
                ok = check() is True
            except Exception:
                ok = False
            if ok:
                self.reset(key)
                return OK
            self.record_failure(key, now)
            return WRONG
        finally:
            self._checking.release()


# The presenter password's limiter: one per server process, at module level, outside every
# Streamlit cache. Streamlit obeys a "clear_cache" message from any client (the toolbar's
# "Clear cache"; ``client.toolbarMode = "viewer"`` only hides the menu), so a limiter kept in
# ``st.cache_resource`` could be reset by the guesser it limits.
_login_limiter = RateLimiter()


def login_limiter() -> RateLimiter:
    """The process-wide limiter of presenter password attempts (see the module docstring)."""
    return _login_limiter


# --- Command line -----------------------------------------------------------------------------
