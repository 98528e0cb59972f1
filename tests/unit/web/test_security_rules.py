"""Where the portal may send a browser next, and how form fields are read."""

from __future__ import annotations

import pytest

from backbone.identity.errors import CodeWrong, LoginFailed
from backbone.web.forms import FORM, Form
from backbone.web.pages.signup import parse_birth_date
from backbone.web.security import safe_next


@pytest.mark.parametrize("candidate", ["/my", "/my/security?signature=7", "/signup/terms"])
def test_local_paths_are_followed(candidate: str) -> None:
    assert safe_next(candidate, "/") == candidate


@pytest.mark.parametrize(
    "candidate",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "my",
        "/api/v1/identity/me",
        "/a\r\nb",
    ],
)
def test_anything_but_a_local_page_path_falls_back_to_the_default(candidate: str | None) -> None:
    assert safe_next(candidate, "/my") == "/my"


@pytest.mark.parametrize("typed", ["19900517", "1990-05-17", "1990.05.17", " 1990 05 17 "])
def test_birth_dates_are_read_in_the_forms_people_type(typed: str) -> None:
    assert parse_birth_date(typed).isoformat() == "1990-05-17"


@pytest.mark.parametrize("typed", ["1990517", "1990-13-01", "17/05/1990", "abc"])
def test_other_birth_dates_are_refused(typed: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        parse_birth_date(typed)


def test_a_refusal_lands_beside_its_field_or_at_the_top_and_secrets_are_never_shown_again() -> None:
    form = Form(values={"code": "123456", "pin": "739146"}, secret_fields=frozenset({"pin"}))
    form.refused(CodeWrong("wrong", attempts_left=4))
    form.refused(LoginFailed("vague"))
    assert form.error("code") is not None
    assert form.error("code").parameters == {"attempts_left": 4}  # type: ignore[union-attr]
    assert form.error(FORM) is not None
    assert form.value("code") == "123456"
    assert form.value("pin") == ""
    assert not form.valid
