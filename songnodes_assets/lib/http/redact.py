"""Secret redaction for everything that is stored or logged: texts and decoded JSON answers.

``Redactor`` replaces, case-insensitively, every known secret value of at least ``MIN_SECRET_CHARS``
characters (shorter values cannot be removed without destroying ordinary text) in its plain,
percent-encoded (``quote``/``quote_plus``) and JSON-escaped forms by ``***``, and, whatever the value,
``api_key=…``/``token=…``/``secret=…``-style query assignments and ``Bearer``/``Basic`` credentials.
Secrets may be added while running (e.g. an OAuth token once it is sent)."""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_CHARS = 4
MAX_LEARNED = 256  # learned values kept per redactor (tokens refresh; configured secrets always stay)
SECRET_PARAMS = frozenset({"api_key", "apikey", "token", "key", "secret", "client_secret", "access_token",
                           "refresh_token", "password", "client_id"})
_PARAM_RE = re.compile(r"(?i)\b(api_key|apikey|access_token|refresh_token|client_secret|client_id|secret|token|"
                       r"key|password)=(?!\*\*\*)[^&\s\"'<>\\]+")
_AUTH_RE = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/-]{12,}=*")


def _forms(value: str) -> set[str]:
    forms = {value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1]}
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}


class Redactor:
    def __init__(self, secrets=()):
        self._lock = threading.Lock()
        self._configured: tuple[str, ...] = ()
        self._learned: list[str] = []
        self._re: re.Pattern | None = None
        self.configure(secrets)

    def configure(self, secrets) -> None:
        """Replace the configured secrets (learned ones are kept)."""
        with self._lock:
            self._configured = tuple(s for s in secrets if isinstance(s, str) and s)
            self._compile()

    def learn(self, *values: str) -> None:
        """Add values seen at run time (a token sent in a header, a secret query parameter)."""
        new = [v.strip() for v in values if isinstance(v, str) and len(v.strip()) >= MIN_SECRET_CHARS]
        with self._lock:
            new = [v for v in new if v not in self._learned and v not in self._configured]
            if not new:
                return
            self._learned = (self._learned + new)[-MAX_LEARNED:]
            self._compile()

    @property
    def configured(self) -> tuple[str, ...]:
        return self._configured

    def _compile(self) -> None:
        forms: set[str] = set()
        for value in (*self._configured, *self._learned):
            forms |= _forms(value)
        alternatives = sorted(forms, key=len, reverse=True)
        self._re = re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE) if alternatives else None

    def text(self, text: str) -> str:
        if not isinstance(text, str) or not text:
            return text
        pattern = self._re
        if pattern is not None:
            text = pattern.sub(MASK, text)
        text = _PARAM_RE.sub(lambda m: f"{m.group(1)}={MASK}", text)
        return _AUTH_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)

    def data(self, obj):
        """A copy of a decoded JSON value with every string (keys included) redacted."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.text(k) if isinstance(k, str) else k: self.data(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.data(v) for v in obj]
        return obj

    def value(self, obj):
        """A row value: strings and lists/tuples of strings redacted, everything else unchanged."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.value(v) for v in obj)
        if isinstance(obj, dict):
            return self.data(obj)
        return obj
