"""Every word the portal shows comes from the catalogs: both languages hold the same messages,
every key a template names exists, no template or script carries words of its own, and every
refusal the identity service can give has a readable sentence in both languages."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from backbone.errors import all_error_types
from backbone.web.i18n import Language, Translator, catalog, language_of

TEMPLATES = Path(str(resources.files("backbone.web").joinpath("templates")))
SCRIPTS = Path(__file__).resolve().parents[3] / "frontend" / "src"
KEY_IN_TEMPLATE = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")
JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
TAG = re.compile(r"<[^>]*>", re.DOTALL)
TEXT_ATTRIBUTE = re.compile(r"""\b(aria-label|placeholder|title|alt)="([^"]*)\"""")
LETTER = re.compile(r"[A-Za-z가-힣]")


def templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_korean_and_english_catalogs_hold_the_same_messages() -> None:
    korean, english = set(catalog(Language.KOREAN)), set(catalog(Language.ENGLISH))
    assert korean - english == set(), "only in Korean"
    assert english - korean == set(), "only in English"


def test_the_two_catalogs_name_the_same_parameters_in_each_message() -> None:
    parameter = re.compile(r"\{(\w+)\}")
    for key, text in catalog(Language.KOREAN).items():
        english = catalog(Language.ENGLISH)[key]
        assert set(parameter.findall(text)) == set(parameter.findall(english)), key


@pytest.mark.parametrize("template", templates(), ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_every_message_a_template_names_exists(template: Path) -> None:
    keys = KEY_IN_TEMPLATE.findall(template.read_text("utf-8"))
    messages = catalog(Language.KOREAN)
    # A key ending in "." is the prefix of one built in the template (`t("factors." ~ factor)`):
    # its section must exist; the pages rendered by the browser tests reach every member of it.
    missing = [
        key
        for key in keys
        if (
            key not in messages
            if not key.endswith(".")
            else not any(name.startswith(key) for name in messages)
        )
    ]
    assert missing == []


@pytest.mark.parametrize("template", templates(), ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_a_template_shows_no_words_of_its_own(template: Path) -> None:
    source = template.read_text("utf-8")
    visible = TAG.sub(" ", JINJA.sub(" ", source))
    assert LETTER.findall(visible) == [], visible.strip()[:200]
    for attribute, value in TEXT_ATTRIBUTE.findall(JINJA.sub("", source)):
        assert LETTER.search(value) is None, f"{attribute}={value!r}"


def test_the_browser_modules_carry_no_korean_words_of_their_own() -> None:
    for script in sorted(SCRIPTS.glob("*.js")):
        assert re.search(r"[가-힣]", script.read_text("utf-8")) is None, script.name


def test_every_identity_portal_platform_and_order_refusal_reads_as_a_sentence_in_both_languages() -> None:
    prefixes = ("identity.", "portal.", "platform.", "oauth.", "order.")
    codes = [error.code for error in all_error_types() if error.code.startswith(prefixes)]
    assert "identity.code_wrong" in codes
    assert "platform.consent_required" in codes
    for language in Language:
        missing = [code for code in codes if f"errors.{code}" not in catalog(language)]
        assert missing == [], language


def test_translator_fills_parameters_and_refuses_an_unknown_key() -> None:
    korean = Translator(Language.KOREAN)
    assert (
        korean("errors.identity.code_wrong", attempts_left=3) == "인증번호가 틀렸습니다. 남은 입력 횟수: 3회"
    )
    assert Translator(Language.ENGLISH)("layout.switch_language") == "한국어"
    with pytest.raises(KeyError):
        korean("no.such.message")
    assert korean.get("errors.no.such_code", "fallback") == "fallback"


def test_an_unknown_or_missing_language_falls_back_to_korean() -> None:
    assert language_of("en") is Language.ENGLISH
    assert language_of(None) is Language.KOREAN
    assert language_of("fr") is Language.KOREAN
