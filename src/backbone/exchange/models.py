"""The instrument master as a table, so that other domains can join on it; the CSV is the source
and `backbone db upgrade` brings the table in line with it."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backbone.kit.db import Base


class InstrumentRow(Base):
    __tablename__ = "instruments"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    isin: Mapped[str] = mapped_column(String(12), unique=True)
    name_ko: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    market: Mapped[str] = mapped_column(String(8))
    sector: Mapped[str] = mapped_column(String(60))
    shares_listed: Mapped[int]
    base_price: Mapped[int]
