"""What the open API's worker processes pay for the state they share with the venue process and
with each other (docs/open_platform.md, "Running the open API in worker processes"):

- one last price read from the memory-mapped board (`LastPriceReader.price`), and through
  `PriceBoard.last_price` as the valuation calls it (50 per integrated portfolio of 50 positions),
  while the venue process's writer is idle and while it rewrites prices as fast as it can;
- one `RateLimiter.take` on the shared table (a thread lock, an flock, the slot in and out), alone
  and with a second process taking on the same file at the same time.

    .venv/bin/python -m benchmarks.shared_state [--reads 200000] [--takes 100000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from backbone.brokerage.holdings import PriceBoard
from backbone.exchange.instruments import load_instruments
from backbone.exchange.last_prices import LastPriceReader, LastPriceWriter, board_path
from backbone.kit.clock import SystemClock
from backbone.open_platform.limits.service import RateLimiter, limits_path

APP = 7_301_234_567_890
POSITIONS = 50


def per_call_us(work: Callable[[], object], calls: int) -> float:
    work()  # warm: the reader maps the file on its first read
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - started) * 1e6 / calls


def keep_writing(path: Path, codes: list[str], seconds: float) -> None:
    writer = LastPriceWriter(path, codes)
    deadline = time.monotonic() + seconds
    price = 70_000
    while time.monotonic() < deadline:
        price += 100
        writer.write(dict.fromkeys(codes[:20], price))


def keep_taking(path: Path, seconds: float) -> None:
    limiter = RateLimiter(clock=SystemClock(), path=path)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        limiter.take(APP, daily_quota=10**12, burst_limit=10**6)


def board(directory: Path, reads: int) -> None:
    instruments = load_instruments()
    codes = sorted(instruments)
    path = board_path(directory / "exchange")
    writer = LastPriceWriter(path, codes)
    writer.write({code: item.base_price + 100 for code, item in instruments.items()})
    reader = LastPriceReader(path)
    prices = PriceBoard({code: item.base_price for code, item in instruments.items()}, reader)
    held = codes[:POSITIONS]
    one = per_call_us(lambda: reader.price("005930"), reads)
    through_board = per_call_us(lambda: prices.last_price("005930"), reads)
    valuation = per_call_us(lambda: [prices.last_price(code) for code in held], reads // POSITIONS)
    print(f"last-price board, {len(codes)} instruments, writer idle:")
    print(f"  LastPriceReader.price           {one:6.2f} µs per read")
    print(f"  PriceBoard.last_price           {through_board:6.2f} µs per read")
    print(f"  {POSITIONS} positions' prices           {valuation:6.1f} µs per valuation")
    writing = multiprocessing.get_context("spawn").Process(target=keep_writing, args=(path, codes, 30.0))
    writing.start()
    time.sleep(1.0)  # the writer process is up and writing
    try:
        busy = per_call_us(lambda: prices.last_price(codes[0]), reads)
    finally:
        writing.terminate()
        writing.join()
    print(f"  PriceBoard.last_price           {busy:6.2f} µs per read while another process rewrites")
    print("                                         20 prices in a loop (retries included)")
    writer.close()


def limits(directory: Path, takes: int) -> None:
    path = limits_path(directory)
    limiter = RateLimiter(clock=SystemClock(), path=path)
    alone = per_call_us(lambda: limiter.take(APP, daily_quota=10**12, burst_limit=10**6), takes)
    other = multiprocessing.get_context("spawn").Process(target=keep_taking, args=(path, 30.0))
    other.start()
    time.sleep(1.0)
    try:
        contended = per_call_us(lambda: limiter.take(APP, daily_quota=10**12, burst_limit=10**6), takes)
    finally:
        other.terminate()
        other.join()
    print("shared rate limits (mmap table under flock):")
    print(f"  RateLimiter.take                {alone:6.2f} µs per call, alone")
    print(f"  RateLimiter.take                {contended:6.2f} µs per call, another process taking too")
    limiter.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--takes", type=int, default=100_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shared-state-") as temporary:
        board(Path(temporary), arguments.reads)
        limits(Path(temporary), arguments.takes)


if __name__ == "__main__":
    main()
