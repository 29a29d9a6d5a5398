"""Who may change things: read-only without a token; with one, a signed-in operator or a bearer token.

A browser session is a signed cookie (SameSite=Strict) holding the operator's name, a digest of the token it
was opened with (changing the token ends every session) and a CSRF token that every form must echo.
A request carrying `Authorization: Bearer <token>` is not a browser's ambient credential, so it needs no CSRF.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

SESSION_OPERATOR = "operator"
SESSION_TOKEN_DIGEST = "token_digest"
SESSION_CSRF = "csrf"
OPERATOR_HEADER = "x-newswire-operator"


class AccessDenied(Exception):
    """A mutating request without valid credentials or CSRF token; the message says which."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ConsoleAccess:
    """The token that unlocks mutating actions (None: the console is read-only)."""

    token: str | None

    @property
    def read_only(self) -> bool:
        return not self.token

    def check_token(self, candidate: str) -> bool:
        return bool(self.token) and hmac.compare_digest(candidate.encode(), (self.token or "").encode())

    def token_digest(self) -> str:
        return hashlib.sha256((self.token or "").encode()).hexdigest()

    def operator(self, request: Request) -> str | None:
        """The signed-in operator (or bearer-token caller) of this request, None when anonymous."""
        if self.read_only:
            return None
        bearer = _bearer(request)
        if bearer is not None:
            return (request.headers.get(OPERATOR_HEADER) or "token holder")[:80] if self.check_token(bearer) else None
        session = request.session
        if session.get(SESSION_OPERATOR) and hmac.compare_digest(
            str(session.get(SESSION_TOKEN_DIGEST, "")), self.token_digest()
        ):
            return str(session[SESSION_OPERATOR])
        return None

    def authorise(self, request: Request, submitted_csrf: str | None) -> str:
        """The operator allowed to make this mutating request; raise AccessDenied otherwise."""
        if self.read_only:
            raise AccessDenied("The console is read-only: start it with NEWSWIRE_CONSOLE_TOKEN set to replay or purge.")
        if _bearer(request) is not None:
            operator = self.operator(request)
            if operator is None:
                raise AccessDenied("The bearer token is not the console token.", status=401)
            return operator
        check_same_origin(request)
        if not submitted_csrf or not hmac.compare_digest(submitted_csrf, csrf_token(request)):
            raise AccessDenied("The form's CSRF token is missing or stale; reload the page and try again.")
        operator = self.operator(request)
        if operator is None:
            raise AccessDenied("Sign in with the console token first.", status=401)
        return operator

    def sign_in(self, request: Request, name: str, token: str, submitted_csrf: str | None) -> None:
        check_same_origin(request)
        if not submitted_csrf or not hmac.compare_digest(submitted_csrf, csrf_token(request)):
            raise AccessDenied("The form's CSRF token is missing or stale; reload the page and try again.")
        if self.read_only:
            raise AccessDenied("The console is read-only: there is no token to sign in with.")
        if not self.check_token(token):
            raise AccessDenied("That is not the console token.", status=401)
        request.session.clear()
        request.session[SESSION_OPERATOR] = name.strip()[:80] or "operator"
        request.session[SESSION_TOKEN_DIGEST] = self.token_digest()
        request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return str(token)


def check_same_origin(request: Request) -> None:
    """Refuse a form posted from another site (the Origin header, sent by browsers on POST, must be ours)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        if origin == "null":
            raise AccessDenied("Cross-site form posts are refused.")
        return
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise AccessDenied("Cross-site form posts are refused.")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None
