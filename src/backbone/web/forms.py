"""Forms that validate on the server and come back with errors beside their fields.

A page handler reads the posted fields into a `Form`, checks each with the same domain rules the
services use (`backbone.identity.domain`), and either calls the service or renders the page again
with the form: the typed values kept (secrets such as PINs excepted), each error as a catalog key
shown beside its field in the page's language, and a summary at the top that links to them.

A service's typed refusal lands on the field it concerns through `ERROR_FIELDS`; one that
concerns no field is shown at the form's top (field `FORM`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from backbone.errors import BackboneError
from backbone.web.security import CSRF_FIELD

FORM = ""  # the pseudo-field of errors that concern the whole form
FORM_BYTES_MAX = 65_536
FIELD_LENGTH_MAX = 4_096

# Which field a service's refusal is about, by problem code.
ERROR_FIELDS: Mapping[str, str] = {
    "identity.code_wrong": "code",
    "identity.code_expired": "code",
    "identity.code_used": "code",
    "identity.weak_pin": "pin",
    "identity.invalid_pin": "pin",
    "identity.pin_wrong": "pin",
}


@dataclass(frozen=True, slots=True)
class Message:
    """A catalog key and its parameters, translated when the page is rendered."""

    key: str
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Form:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, Message] = field(default_factory=dict)
    secret_fields: frozenset[str] = frozenset()
    csrf: str = ""  # the form's CSRF token as posted; checked before anything else

    def value(self, name: str) -> str:
        """What the person typed, to show again; never a secret."""
        return "" if name in self.secret_fields else self.values.get(name, "")

    def checked(self, name: str) -> bool:
        return name in self.values

    def error(self, name: str) -> Message | None:
        return self.errors.get(name)

    def add(self, name: str, key: str, **parameters: Any) -> None:
        self.errors.setdefault(name, Message(key, parameters))

    def check(self, name: str, rule: Callable[[str], object], key: str) -> Any:
        """Apply a domain rule to a field; on refusal, the catalog's message lands beside it."""
        try:
            return rule(self.values.get(name, ""))
        except (BackboneError, ValueError):
            self.add(name, key)
            return None

    def required(self, names: Iterable[str], key: str = "validation.required") -> None:
        for name in names:
            if not self.values.get(name, "").strip():
                self.add(name, key)

    def refused(self, error: BackboneError, *, field_name: str | None = None) -> None:
        """A service's refusal, beside the field it concerns (or at the top)."""
        name = field_name if field_name is not None else ERROR_FIELDS.get(error.code, FORM)
        self.add(name, f"errors.{error.code}", **error.extensions)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def field_errors(self) -> list[tuple[str, Message]]:
        """Every error in the order the fields were checked, for the summary."""
        return list(self.errors.items())


async def posted(request: Request, *, secret_fields: Iterable[str] = ()) -> Form:
    """The posted form (application/x-www-form-urlencoded), as a Form with no errors yet. Values
    are trimmed of surrounding blanks and cut at a sane length; the CSRF field is left out."""
    body = await request.body()
    pairs = parse_qsl(body[:FORM_BYTES_MAX].decode("utf-8", errors="replace"), keep_blank_values=True)
    values: dict[str, str] = {}
    for name, value in pairs:
        if name not in values:  # the first of repeated names, as a browser sends one per field
            values[name] = value.strip()[:FIELD_LENGTH_MAX]
    csrf = values.pop(CSRF_FIELD, "")
    return Form(values=values, secret_fields=frozenset(secret_fields), csrf=csrf)
