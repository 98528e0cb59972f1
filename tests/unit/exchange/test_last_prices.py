"""The last-price board: what the venue process writes, every other process reads; a reader never
takes a price while a write is half done, and falls back to base prices where the board says
nothing."""

from __future__ import annotations

import mmap
import threading
import time
from pathlib import Path

import pytest

from backbone.brokerage.holdings import PriceBoard
from backbone.exchange import last_prices
from backbone.exchange.last_prices import (
    PRICE,
    SEQUENCE,
    SEQUENCE_OFFSET,
    LastPricePublisher,
    LastPriceReader,
    LastPriceWriter,
    board_path,
)
from backbone.exchange.messages import ChangeSessionPhase, CommandResult, PlaceOrder, TradeExecuted
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.phases import SessionPhase

BASE = {"005930": 71_500, "000660": 180_000, "035420": 210_000}
LIMIT_DAY = (OrderType.LIMIT, TimeInForce.DAY)


def board(tmp_path: Path) -> tuple[LastPriceWriter, LastPriceReader]:
    path = board_path(tmp_path / "exchange")
    return LastPriceWriter(path, BASE), LastPriceReader(path)


def test_a_price_written_is_read_by_another_mapping_and_unknown_codes_fall_back_to_base(
    tmp_path: Path,
) -> None:
    writer, reader = board(tmp_path)
    prices = PriceBoard(dict(BASE), reader)
    assert prices.last_price("005930") == 71_500  # nothing written yet: the base price
    writer.write({"005930": 72_000, "000660": 181_000, "999999": 1})
    assert reader.price("005930") == 72_000
    assert prices.last_price("000660") == 181_000
    assert prices.last_price("035420") == 210_000  # on the board, never written
    assert reader.price("999999") is None  # not on the board: the writer ignored it
    assert prices.last_price("999999") == 0
    writer.write({"005930": 71_900})
    assert prices.last_price("005930") == 71_900


def test_without_a_board_base_prices_answer_and_a_board_made_later_is_found(tmp_path: Path) -> None:
    path = board_path(tmp_path / "exchange")
    reader = LastPriceReader(path)
    prices = PriceBoard(dict(BASE), reader)
    assert prices.last_price("005930") == 71_500
    writer = LastPriceWriter(path, BASE)
    writer.write({"005930": 73_000})
    reader._looked_at = -1.0  # the reader looks again at most once a second; do not wait for it
    assert prices.last_price("005930") == 73_000


def test_a_reader_waits_out_a_write_in_progress_and_takes_the_finished_price(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(last_prices, "READ_WAIT_S_MAX", 30.0)  # however slow this machine is now
    writer, reader = board(tmp_path)
    writer.write({"005930": 72_000})
    assert reader.price("005930") == 72_000
    raw = _raw(writer)
    sequence = SEQUENCE.unpack_from(raw, SEQUENCE_OFFSET)[0]
    SEQUENCE.pack_into(raw, SEQUENCE_OFFSET, sequence + 1)  # a writer begins
    PRICE.pack_into(raw, _price_offset(reader, "005930"), 75_500)  # and writes half of its change

    seen: list[int | None] = []
    started = time.monotonic()
    waiting = threading.Thread(target=lambda: seen.append(reader.price("005930")))
    waiting.start()
    time.sleep(0.01)
    assert seen == []  # it does not take the price while the sequence is odd
    PRICE.pack_into(raw, _price_offset(reader, "005930"), 76_000)  # the rest of the change
    SEQUENCE.pack_into(raw, SEQUENCE_OFFSET, sequence + 2)  # the write ends
    waiting.join()
    assert seen == [76_000]
    assert time.monotonic() - started >= 0.01


def test_several_prices_are_read_of_one_moment_and_fall_back_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(last_prices, "READ_WAIT_S_MAX", 30.0)
    writer, reader = board(tmp_path)
    prices = PriceBoard(dict(BASE), reader)
    writer.write({"005930": 72_000, "000660": 181_000})
    codes = ["005930", "000660", "035420", "999999"]
    assert reader.prices(codes) == [72_000, 181_000, None, None]
    assert prices.last_prices(codes) == (72_000, 181_000, 210_000, 0)
    assert prices.last_prices(codes) == tuple(map(prices.last_price, codes))

    # a change of two prices half written: the reader takes neither until it is whole
    raw = _raw(writer)
    sequence = SEQUENCE.unpack_from(raw, SEQUENCE_OFFSET)[0]
    SEQUENCE.pack_into(raw, SEQUENCE_OFFSET, sequence + 1)
    PRICE.pack_into(raw, _price_offset(reader, "005930"), 73_000)
    seen: list[list[int | None]] = []
    waiting = threading.Thread(target=lambda: seen.append(reader.prices(codes[:2])))
    waiting.start()
    time.sleep(0.01)
    assert seen == []
    PRICE.pack_into(raw, _price_offset(reader, "000660"), 182_000)
    SEQUENCE.pack_into(raw, SEQUENCE_OFFSET, sequence + 2)
    waiting.join()
    assert seen == [[73_000, 182_000]]


def test_a_writer_that_died_mid_write_makes_readers_fall_back_until_the_next_writer(
    tmp_path: Path,
) -> None:
    writer, reader = board(tmp_path)
    prices = PriceBoard(dict(BASE), reader)
    writer.write({"005930": 72_000})
    raw = _raw(writer)
    sequence = SEQUENCE.unpack_from(raw, SEQUENCE_OFFSET)[0]
    SEQUENCE.pack_into(raw, SEQUENCE_OFFSET, sequence + 1)  # and the process is gone
    assert prices.last_price("005930") == 71_500  # after waiting READ_WAIT_S_MAX
    assert reader._abandoned == sequence + 1  # later reads do not wait again for the same write
    assert prices.last_price("000660") == 180_000

    restarted = LastPriceWriter(writer.path, BASE)  # the next venue process
    restarted.write({"005930": 72_100})
    assert prices.last_price("005930") == 72_100


def test_a_new_instrument_master_retires_the_old_board_and_readers_follow(tmp_path: Path) -> None:
    writer, reader = board(tmp_path)
    writer.write({"005930": 72_000})
    assert reader.price("005930") == 72_000
    wider = LastPriceWriter(writer.path, {**BASE, "051910": 400_000})
    wider.write({"005930": 72_500, "051910": 401_000})
    assert reader.price("005930") == 72_500
    assert reader.price("051910") == 401_000


def test_the_publisher_writes_what_a_batch_traded_and_everything_on_a_phase_change(tmp_path: Path) -> None:
    writer, reader = board(tmp_path)
    last = dict(BASE)
    publisher = LastPricePublisher(writer, last.__getitem__, BASE)
    last["005930"], last["000660"] = 72_000, 182_000
    trade = TradeExecuted(1, "005930", 72_000, 10, 2, 3, Side.BUY, 0, 0, 1)
    publisher([CommandResult(1, PlaceOrder("005930", 2, Side.BUY, *LIMIT_DAY, 72_000, 10, 1), [trade])])
    assert reader.price("005930") == 72_000
    assert reader.price("000660") is None  # not traded in the batch: not written
    publisher([CommandResult(2, ChangeSessionPhase(SessionPhase.CONTINUOUS, 2), [])])
    assert reader.price("000660") == 182_000
    assert reader.price("035420") == 210_000


def _raw(writer: LastPriceWriter) -> mmap.mmap:
    """A mapping of the board of our own, to play a writer caught in the middle."""
    with writer.path.open("r+b") as handle:
        return mmap.mmap(handle.fileno(), 0)


def _price_offset(reader: LastPriceReader, code: str) -> int:
    return reader._offsets[code]
