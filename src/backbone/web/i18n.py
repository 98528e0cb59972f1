"""Translation catalogs: every word the portal shows comes from `catalogs/<language>.json`.

Korean is the default; English is one link away on every page and is remembered in a cookie.
Catalogs are nested JSON objects, addressed by dotted keys (`signup.terms.title`); a message may
name parameters in braces (`{attempts_left}`). Both catalogs hold the same keys (a test checks),
and a missing key is a programmer error that fails loudly, not a blank on the screen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from backbone.kit.check import invariant

LANGUAGE_COOKIE = "backbone_lang"
LANGUAGE_COOKIE_MAX_AGE_S = 365 * 24 * 3_600


class Language(StrEnum):
    KOREAN = "ko"
    ENGLISH = "en"

    @property
    def other(self) -> Language:
        return Language.ENGLISH if self is Language.KOREAN else Language.KOREAN


DEFAULT_LANGUAGE = Language.KOREAN


def language_of(value: str | None) -> Language:
    """The language a cookie or link names, or Korean for anything else."""
    try:
        return Language(value or DEFAULT_LANGUAGE)
    except ValueError:
        return DEFAULT_LANGUAGE


def _flatten(prefix: str, node: Mapping[str, Any], into: dict[str, str]) -> None:
    for name, value in node.items():
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, Mapping):
            _flatten(key, value, into)
        else:
            invariant(isinstance(value, str), f"catalog entry {key} is text")
            into[key] = value


@cache
def catalog(language: Language) -> Mapping[str, str]:
    """Every message of one language, by dotted key."""
    text = resources.files("backbone.web").joinpath("catalogs", f"{language.value}.json").read_text("utf-8")
    flat: dict[str, str] = {}
    _flatten("", json.loads(text), flat)
    return flat


class _Parameters(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True, slots=True)
class Translator:
    language: Language

    def __call__(self, key: str, /, **parameters: Any) -> str:
        messages = catalog(self.language)
        if key not in messages:
            raise KeyError(f"no message {key!r} in the {self.language.value} catalog")
        text = messages[key]
        return text.format_map(_Parameters(parameters)) if parameters else text

    def get(self, key: str, default: str, /, **parameters: Any) -> str:
        """A message that may not exist (one per error code): the default when it does not."""
        messages = catalog(self.language)
        text = messages.get(key, default)
        return text.format_map(_Parameters(parameters)) if parameters else text

    def section(self, prefix: str) -> dict[str, str]:
        """The messages under one key, by their last part: for scripts, which get them as JSON."""
        start = f"{prefix}."
        return {
            key.removeprefix(start): text
            for key, text in catalog(self.language).items()
            if key.startswith(start)
        }
