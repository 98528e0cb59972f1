"""Pages from Jinja2 templates, with what every page needs: the translator in the page's language,
the form CSRF token, the member (when logged in), and the scripts' messages.

Templates never hold visible words: they call `t("key")`, and a test checks that no text outside
`t(...)` reaches the page.
"""

from __future__ import annotations

import base64
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from backbone.identity.domain import CurrentMember, masked_phone
from backbone.kit.clock import SEOUL
from backbone.open_platform.virtual_accounts.domain import display_number
from backbone.web.forms import Form, Message
from backbone.web.i18n import LANGUAGE_COOKIE, Language, Translator, language_of
from backbone.web.security import PAGE_HEADERS, form_token, remember_browser
from backbone.web.session import portal_member

STATIC_PREFIX = "/static"
UNSET: Any = object()


def language(request: Request) -> Language:
    return language_of(request.cookies.get(LANGUAGE_COOKIE))


def translator(request: Request) -> Translator:
    return Translator(language(request))


def _when(instant: datetime | None, precision: str = "minute") -> str:
    """An instant as Seoul wall time, the way Korean portals print it."""
    if instant is None:
        return ""
    local = instant.astimezone(SEOUL)
    return local.strftime("%Y-%m-%d %H:%M:%S" if precision == "second" else "%Y-%m-%d %H:%M")


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _masked_phone(digits: str | None) -> str:
    return "" if not digits else masked_phone(digits)


def _number(value: int | str | None) -> str:
    """Won and shares with thousands separators; a decimal string (fractional shares) kept exact."""
    if value is None:
        return "-"
    whole, _, fraction = str(value).partition(".")
    grouped = f"{int(whole):,}"
    return f"{grouped}.{fraction}" if fraction else grouped


def _signed(value: int) -> str:
    """A gain or loss with its sign, so that colour is never the only cue."""
    return f"+{value:,}" if value > 0 else f"{value:,}"


def _trend(value: int) -> str:
    return "trend trend--up" if value > 0 else "trend trend--down" if value < 0 else "trend"


def _static(path: str) -> str:
    return f"{STATIC_PREFIX}/{path}"


@cache
def environment() -> Environment:
    built = Environment(
        loader=PackageLoader("backbone.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    built.filters["when"] = _when
    built.filters["b64"] = _base64
    built.filters["masked_phone"] = _masked_phone
    built.filters["virtual_number"] = display_number
    built.filters["number"] = _number
    built.filters["signed"] = _signed
    built.filters["trend"] = _trend
    built.globals["static"] = _static
    return built


def _message(t: Translator) -> Any:
    def render_message(message: Message | None) -> str:
        if message is None:
            return ""
        fallback = t("errors.generic", code=message.key.removeprefix("errors."))
        return t.get(message.key, fallback, **message.parameters)

    return render_message


def page(
    request: Request,
    template: str,
    *,
    status: int = 200,
    member: CurrentMember | None = UNSET,
    **context: Any,
) -> HTMLResponse:
    t = translator(request)
    if member is UNSET:
        member = portal_member(request)
    path = request.url.path
    current = path + (f"?{request.url.query}" if request.url.query else "")
    html = (
        environment()
        .get_template(template)
        .render(
            t=t,
            lang=t.language.value,
            other_lang=t.language.other.value,
            language_switch_url=f"/language/{t.language.other.value}?next={quote(current, safe='/')}",
            member=member,
            csrf_token=form_token(request),
            request_path=path,
            script_messages={"script": t.section("script"), "errors": t.section("errors")},
            message=_message(t),
            empty_form=Form(),
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
    remember_browser(request, response)
    return response


def fragment(request: Request, template: str, **context: Any) -> HTMLResponse:
    """A piece of a page for htmx to swap in: the same translator, no layout."""
    t = translator(request)
    html = (
        environment()
        .get_template(template)
        .render(t=t, lang=t.language.value, message=_message(t), **context)
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)


def redirect(request: Request, url: str) -> RedirectResponse:
    """See other (303): after a POST, the browser loads the next page with GET."""
    response = RedirectResponse(url, status_code=303)
    remember_browser(request, response)
    return response


def error_page(request: Request, status: int, code: str, parameters: dict[str, Any]) -> HTMLResponse:
    t = translator(request)
    fallback = t("errors.generic", code=code)
    return page(
        request,
        "pages/error.html",
        status=status,
        member=None if status >= 500 else UNSET,
        status_code=status,
        code=code,
        explanation=t.get(f"errors.{code}", fallback, **parameters),
        step_up=code == "identity.step_up_required",
    )
