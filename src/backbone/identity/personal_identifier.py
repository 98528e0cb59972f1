"""The personal identifier an identity provider returns for a verified person: 88 characters,
stable for the same person, like Korea's CI (연계정보).

The development provider derives it as base64(HMAC-SHA512(key, name|birth date|phone digits)),
which is exactly 88 characters. Firms record the same value from their own identity checks, which
is how the open platform finds a member's accounts at every firm without sharing real numbers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from datetime import date

PERSONAL_IDENTIFIER_LENGTH = 88
DEVELOPMENT_PROVIDER_KEY = b"backbone development identity provider"


def development_personal_identifier(
    name: str, birth_date: date, phone: str, *, key: bytes = DEVELOPMENT_PROVIDER_KEY
) -> str:
    canonical = "|".join(
        (
            unicodedata.normalize("NFC", name.strip()),
            birth_date.isoformat(),
            "".join(filter(str.isdigit, phone)),
        )
    )
    digest = hmac.new(key, canonical.encode(), hashlib.sha512).digest()
    return base64.b64encode(digest).decode()
