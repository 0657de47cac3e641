"""Fields whose allowed values are declared once, where the field is."""

from __future__ import annotations

from dataclasses import Field, field, fields
from typing import Any


def choice(*allowed: Any, default: Any = None) -> Any:
    """A string field whose allowed values are ``allowed``; the default is the first unless
    given."""
    return field(default=allowed[0] if default is None else default, metadata={"choices": allowed})


def choices(schema: type, name: str) -> tuple[Any, ...]:
    """The allowed values a :func:`choice` field of ``schema`` declares."""
    found: Field[Any] = next(f for f in fields(schema) if f.name == name)
    return tuple(found.metadata["choices"])
