"""Keeping credentials out of everything the engine writes or shows: one module, one set of rules.

Three rules, used by the client, the ledger, the run settings, the report and the logs:

- ``public_endpoint(url)``: a base URL without userinfo, query (Azure-style ``?api-key=``) and fragment;
- ``Redactor``: replaces a known secret (the API key) in text a server echoed back, and is a ``logging.Filter``
  so no log record carries it either;
- field names: ``CALL_CREDENTIAL_FIELD`` is the ledger's rule (spec: no record holds an API key or an
  Authorization header; verify enforces it on old ledgers too, so it stays exactly this narrow), and
  ``SECRET_SETTING`` the broader one for settings shown to people (tokens, passwords, secrets).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

CALL_CREDENTIAL_FIELD = re.compile(r"authorization|api[_-]?key", re.IGNORECASE)
SECRET_SETTING = re.compile(r"(api_?key|secret|password|passwd|authorization|credential|(^|_)token$)", re.IGNORECASE)
REDACTED = "[redacted]"
# Real keys are long; a toy key such as "sim" would also "redact" ordinary words.
MIN_SECRET_CHARS = 16


def public_endpoint(base_url: str) -> str:
    """The base URL without credentials: userinfo, query and fragment go. Not a URL: shown as "(not shown)"."""
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        return "(not shown)"
    if not parts.scheme:
        return base_url
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def has_credentials(base_url: str) -> bool:
    """True when the URL carries more than its public form (userinfo, a query, a fragment)."""
    return public_endpoint(base_url) != base_url.rstrip("#?")


class Redactor(logging.Filter):
    """Removes one secret from text; as a logging filter, from every record's message and arguments."""

    def __init__(self, secret: str | None) -> None:
        super().__init__()
        self.secret = secret if secret and len(secret) >= MIN_SECRET_CHARS else None

    def __call__(self, text: str | None) -> str | None:
        if text is None or self.secret is None:
            return text
        return text.replace(self.secret, REDACTED)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret is not None and self.secret in record.getMessage():
            record.msg, record.args = self(record.getMessage()), None
        return True


def first_credential_field(value: object, where: str = "") -> str | None:
    """Path of the first mapping key (at any depth) that looks like it names a credential, or None."""
    stack = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, sub in item.items():
                if CALL_CREDENTIAL_FIELD.search(key):
                    return f"{path}.{key}".lstrip(".")
                stack.append((sub, f"{path}.{key}"))
        elif isinstance(item, list):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))
    return None


def shown_setting(name: str, value: object) -> str:
    """A setting as text a person may see: credential-like names hidden, URLs without their credentials."""
    if SECRET_SETTING.search(name):
        return "(hidden)"
    if isinstance(value, str) and "://" in value:
        return public_endpoint(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) if value else "—"
    return "—" if value is None else str(value)
