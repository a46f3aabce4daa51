"""structlog configuration, with secrets redacted before anything is written.

Event names are stable dotted strings (``xero.request.sent``) and ids go in as keys, so
logs can be searched; any key that looks like a credential is masked on the way out.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_KEYS = re.compile(
    r"(pass(word)?|secret|token|authorization|api[_-]?key|cookie|code_verifier|refresh|access)",
    re.IGNORECASE,
)
BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask credential-looking keys and bearer tokens inside messages."""
    for key, value in list(event.items()):
        if key != "event" and SECRET_KEYS.search(key):
            event[key] = REDACTED
        elif isinstance(value, str):
            event[key] = BEARER.sub(r"\1" + REDACTED, value)
    return event


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level)
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
