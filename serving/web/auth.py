"""Who may see the staff page: sessions, the CSRF token of every form, and the login itself.

- Accounts, password hashes (argon2), failed-login counting and the pause after too many failures live in the
  decision record (serving.records); this module only asks it (``Records.login``) and keeps the session.
- The session is a cookie signed with a key kept in the work folder (Starlette's SessionMiddleware, itsdangerous):
  HttpOnly, SameSite=Lax, and Secure when the page is served over TLS (the request's scheme: behind a reverse
  proxy on the same machine that ends TLS, uvicorn takes it from X-Forwarded-Proto). It holds the user's name and
  role and the CSRF token, never the password. It ends after ``SESSION_HOURS`` or at logout; a user switched off
  loses it at the next request (the record is asked on each one).
- Every form that changes anything carries the session's CSRF token in a hidden field, compared in constant time.
- Logins, failed logins and logouts go to the server's log by outcome and role only, and to the record's events
  with the name (no names of people in logs, never a password).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import time
from pathlib import Path

from starlette.middleware.sessions import SessionMiddleware

log = logging.getLogger("klinik.web")
SESSION_COOKIE = "klinik_session"
SESSION_HOURS = 10  # one working day; then the officer signs in again
CSRF_FIELD = "csrf_token"
KEY_FILE = "web-session.key"


def session_key(work_dir: Path) -> str:
    """The key that signs session cookies: made once (random, 0600) in the work folder, shared by every worker."""
    path = Path(work_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
            f.flush()
            os.fsync(f.fileno())
    for _ in range(50):  # another worker may be between creating the file and writing it
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.05)
    raise RuntimeError(f"the session key file {path} is empty: remove it and start again")


class Sessions:
    """Starlette's SessionMiddleware, with the Secure flag when the request came over TLS.

    The signing key is read (or made) at the first request, not when the service module is imported."""

    def __init__(self, app, work_dir: Path):
        self.app, self.work_dir = app, Path(work_dir)
        self._by_tls: dict[bool, SessionMiddleware] = {}

    def _middleware(self, tls: bool) -> SessionMiddleware:
        if tls not in self._by_tls:
            key = session_key(self.work_dir)
            self._by_tls[tls] = SessionMiddleware(
                self.app,
                secret_key=key,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_HOURS * 3600,
                same_site="lax",
                https_only=tls,
            )
        return self._by_tls[tls]

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        await self._middleware(scope.get("scheme") in ("https", "wss"))(scope, receive, send)


def csrf_token(session: dict) -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(session: dict, sent: str | None) -> bool:
    token = session.get("csrf")
    # as bytes: compare_digest refuses text with a character beyond ASCII (a TypeError: a 500 for a forged form)
    return bool(token and sent) and hmac.compare_digest(str(token).encode(), str(sent).encode())


def start_session(session: dict, name: str, role: str) -> None:
    """A fresh session for a user who just signed in (a new CSRF token: nothing from before carries over)."""
    session.clear()
    session.update({"user": name, "role": role, "csrf": secrets.token_urlsafe(32)})


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path of this site (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
