"""Durable orders per second through the brokerage API, with load from a separate process.

A real `backbone serve` (durable: SQLite synchronous=FULL, the venue's journal synced per group)
runs the market on a simulated clock held at Monday 09:00. One member signed in over HTTP owns
20 funded accounts; `wrk` (a separate process, on loopback) posts limit orders of one share at
71,500, buys and sells in turn across the accounts, so most of them trade: each request is the
whole chain — the session, admission with its hold, the venue's journal, the booking of fills.

Side by side, on the same server and connection count: `GET /healthz` (the web stack's ceiling)
and the account's balance (an authenticated read), so the order path's own cost is visible.

    .venv/bin/python -m benchmarks.orders_api [--seconds 20] [--connections 32]

Against an earlier revision, in the same run (issue 13: the order figures must not fall):

    .venv/bin/python -m benchmarks.orders_api --baseline REV [--rounds 2] [--pure-python]

checks REV out into a temporary `git worktree` (removed at the end, also on failure or SIGTERM),
compiles the matching engine there and in this tree (in place, as `make native` does) with each
tree's own `scripts/build-native` and this interpreter, nothing copied from one tree to the other
(`--pure-python`: neither is compiled, both run BACKBONE_PURE_PYTHON=1), then measures REV's
server and this tree's alternately — baseline, current, baseline, current… — each run on a fresh
server and database, with the same seconds and connections. Only the server differs: the load,
the client and the installed packages are this tree's. Each server runs with PYTHONPATH set to its
own tree's `src`; before each run a `python -c` in the server's exact environment prints where
`backbone` comes from and whether the engine is compiled, and the run stops if a backbone module
it imports (the app, the CLI, the engine) would load from elsewhere. It prints every run labelled
with its revision ("working tree" and a `git describe --dirty` name for this tree), then per side
the median orders/s, p50 and p99, and the ratio current / baseline.

Traffic goes to 127.0.0.1 only (the server listens there; proxies from the environment are
dropped), and every step has a time limit. Installs Debian's wrk through scripts/apt-install when
it is missing, as benchmarks/open_portfolio.py does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import FrameType

import httpx
from tests.e2e.members import Member
from tests.postgresql import free_port

ROOT = Path(__file__).resolve().parent.parent
OPERATOR_TOKEN = "benchmark-operator-token"  # noqa: S105 - a throw-away installation's token
ACCOUNTS = 20
HOST = "127.0.0.1"
SERVER_START_S_MAX = 120
SERVER_STOP_S_MAX = 60
SECONDS_MAX = 600  # per wrk run
CONNECTIONS_MAX = 1_024
ROUNDS_MAX = 10
WRK_OVERRUN_S_MAX = 60  # wrk ends itself after -d; this only bounds a wedged wrk
COMMAND_S_MAX = 300  # db upgrade, ledger check, the probe
BUILD_S_MAX = 900  # one mypyc build of the matching engine (about 20 s on an idle 2-core VM)
GIT_S_MAX = 120
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")
# Run in each server's exact environment (same interpreter, PYTHONPATH, cwd and variables): where
# its backbone comes from, whether the engine is compiled, and any backbone module loaded from
# outside its tree (an import falling through to the installed editable package would be one).
PROBE = """
import json, sys
from pathlib import Path
import backbone, backbone.exchange
for name in ("backbone.exchange.engine", "backbone.app", "backbone.cli"):
    try:
        __import__(name)
    except ImportError:
        pass
source = Path(sys.argv[1]).resolve()
print(json.dumps({
    "backbone": backbone.__file__,
    "compiled": bool(getattr(backbone.exchange, "COMPILED", False)),
    "engine": getattr(sys.modules.get("backbone.exchange.engine"), "__file__", None),
    "outside": sorted(
        name for name, module in list(sys.modules.items())
        if name.split(".")[0] == "backbone" and getattr(module, "__file__", None)
        and not Path(module.__file__).resolve().is_relative_to(source)
    ),
}))
"""
LUA = """
counter = 0
prefix = tostring(math.random(1, 1000000000))
accounts = {%(accounts)s}
request = function()
  counter = counter + 1
  local account = accounts[(counter %% #accounts) + 1]
  local side = (math.floor(counter / #accounts) %% 2 == 0) and "buy" or "sell"
  local body = '{"instrument":"005930","side":"' .. side .. '","price":71500,"quantity":1}'
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Cookie"] = "%(cookie)s"
  headers["X-CSRF-Token"] = "%(csrf)s"
  headers["Idempotency-Key"] = prefix .. "-" .. counter
  return wrk.format("POST", "/api/v1/brokerage/accounts/" .. account .. "/orders", headers, body)
end
shown = 0
response = function(status, headers, body)
  if status ~= 201 and shown < 3 then
    shown = shown + 1
    io.write("refused " .. status .. ": " .. body .. "\\n")
  end
end
"""
READ_LUA = """
request = function()
  local headers = {}
  headers["Cookie"] = "%(cookie)s"
  return wrk.format("GET", "%(path)s", headers)
end
"""


@dataclass(frozen=True)
class Figure:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


@dataclass(frozen=True)
class Side:
    """One tree whose server is measured: its label in the output and the `src` it runs from."""

    role: str  # "baseline" or "current"
    label: str  # "20eb804" for a revision; "working tree 20eb804-dirty" for this tree
    source: Path
    pure_python: bool


@dataclass(frozen=True)
class Run:
    side: Side
    figures: tuple[Figure, ...]
    ledger_clean: bool

    def figure(self, name: str) -> Figure:
        return next(figure for figure in self.figures if figure.name == name)


def run(command: list[str], environment: dict[str, str], cwd: Path, timeout_s: float = COMMAND_S_MAX) -> str:
    completed = subprocess.run(
        command, env=environment, cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout_s
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed.stdout


def git(*arguments: str) -> str:
    return run(["git", *arguments], dict(os.environ), ROOT, GIT_S_MAX).strip()


def milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(name: str, url: str, script: str, seconds: int, connections: int, directory: Path) -> Figure:
    path = directory / f"{name}.lua"
    path.write_text(script)
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(path), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + WRK_OVERRUN_S_MAX,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = milliseconds(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = milliseconds(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    non_2xx_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else 0
    for refusal in re.findall(r"refused .*", output)[:3]:
        print(f"   {name}: {refusal}")
    return Figure(name, rate, p50, p99, non_2xx)


def start_server(directory: Path, environment: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "backbone", "serve", "--host", HOST, "--port", str(port)],
        env=environment,
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=(directory / "server.log").open("w"),
    )
    deadline = time.monotonic() + SERVER_START_S_MAX
    while True:
        try:
            if httpx.get(f"http://{HOST}:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process)
            raise RuntimeError((directory / "server.log").read_text())
        time.sleep(0.2)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=SERVER_STOP_S_MAX)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SERVER_STOP_S_MAX)


def prepare(url: str) -> tuple[Member, list[int]]:
    operator = httpx.Client(
        base_url=f"{url}/api/backoffice/v1", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    )
    operator.post(
        "/firms",
        json={
            "code": "BENCH",
            "name_ko": "벤치증권",
            "name_en": "Bench Securities",
            "account_number_pattern": "BBB-PP-NNNNNC",
            "branch": 1,
        },
    ).raise_for_status()
    member = Member(url, name="김벤치", birth_date=date(1980, 1, 1), phone="010-9999-0001")
    member.sign_up()
    customer = operator.post(
        "/firms/BENCH/customers",
        json={
            "name": member.name,
            "birth_date": "1980-01-01",
            "phone": member.phone,
            "personal_identifier": member.personal_identifier,
        },
    )
    customer.raise_for_status()
    for index in range(ACCOUNTS):
        number = operator.post(f"/firms/BENCH/customers/{customer.json()['id']}/accounts", json={}).json()[
            "number"
        ]
        operator.post(
            f"/firms/BENCH/accounts/{number}/deposits",
            json={"amount_won": 10**11},
            headers={"Idempotency-Key": f"d{index}"},
        ).raise_for_status()
        operator.post(
            f"/firms/BENCH/accounts/{number}/securities-in",
            json={"instrument": "005930", "quantity": 1_000_000, "unit_cost_won": 70_000},
            headers={"Idempotency-Key": f"s{index}"},
        ).raise_for_status()
    operator.post("/clock/advance", json={"seconds": 3_600}).raise_for_status()  # 09:00: continuous
    member.log_in()
    accounts = [account["id"] for account in member.get("/api/v1/brokerage/accounts").json()]
    return member, accounts


def server_environment(directory: Path, side: Side) -> dict[str, str]:
    """The server's variables: none of the caller's BACKBONE_*, and only its own tree on the path."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BACKBONE_")} | {
        "BACKBONE_DATABASE_URL": f"sqlite:///{directory / 'backbone.sqlite3'}",
        "BACKBONE_VAR_DIRECTORY": str(directory),
        "BACKBONE_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "BACKBONE_COOKIE_SECURE": "false",
        "BACKBONE_LOG_LEVEL": "WARNING",
        "BACKBONE_SIMULATED_CLOCK_START": "2026-11-23T08:00:00+09:00",
        # Not the caller's PYTHONPATH, which may name the other tree.
        "PYTHONPATH": str(side.source),
    }
    if side.pure_python:
        environment["BACKBONE_PURE_PYTHON"] = "1"
    return environment


@dataclass(frozen=True)
class ServerCode:
    """What a server started in that environment imports, as the probe found it."""

    backbone: str
    compiled: bool
    engine: str | None

    def __str__(self) -> str:
        engine = "compiled" if self.compiled else "pure Python"
        return f"server code {self.backbone}; matching engine {engine} ({self.engine})"


def probe(directory: Path, side: Side) -> ServerCode:
    environment = server_environment(directory, side)
    output = run([sys.executable, "-c", PROBE, str(side.source)], environment, directory)
    found = json.loads(output.splitlines()[-1])
    if found["outside"]:
        raise RuntimeError(f"{side.label}: backbone modules from outside {side.source}: {found['outside']}")
    return ServerCode(found["backbone"], found["compiled"], found["engine"])


def measure(side: Side, seconds: int, connections: int, *, show_code: bool = False) -> Run:
    """One run on a fresh database and server: /healthz, the balance read, then the orders."""
    directory = Path(tempfile.mkdtemp(prefix="orders-bench-"))
    try:
        return measure_in(directory, side, seconds, connections, show_code=show_code)
    except Exception:
        log = directory / "server.log"
        if log.exists():
            print(f"{side.label}: the server's log ends with\n{log.read_text()[-4_000:]}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def measure_in(directory: Path, side: Side, seconds: int, connections: int, *, show_code: bool) -> Run:
    port = free_port()
    environment = server_environment(directory, side)
    if show_code:
        print(f"   {probe(directory, side)}")
    run([sys.executable, "-m", "backbone", "db", "upgrade"], environment, directory)
    server = start_server(directory, environment, port)
    url = f"http://{HOST}:{port}"
    try:
        member, accounts = prepare(url)
        cookie = "; ".join(f"{name}={value}" for name, value in member.client.cookies.items())
        csrf = member.client.cookies.get("backbone_csrf") or ""
        figures = (
            wrk("healthz", url + "/healthz", "", seconds, connections, directory),
            wrk(
                "balance",
                url,
                READ_LUA % {"cookie": cookie, "path": f"/api/v1/brokerage/accounts/{accounts[0]}/balance"},
                seconds,
                connections,
                directory,
            ),
            wrk(
                "orders",
                url,
                LUA
                % {
                    "accounts": ",".join(f'"{account}"' for account in accounts),
                    "cookie": cookie,
                    "csrf": csrf,
                },
                seconds,
                connections,
                directory,
            ),
        )
    finally:
        stop_server(server)
    check = subprocess.run(
        [sys.executable, "-m", "backbone", "ledger", "check"],
        env=environment,
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
        timeout=COMMAND_S_MAX,
    )
    return Run(side, figures, check.returncode == 0)


def print_run(result: Run) -> None:
    print(f"{'endpoint':<10} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for figure in result.figures:
        rate, p50, p99 = figure.requests_per_second, figure.p50_ms, figure.p99_ms
        print(f"{figure.name:<10} {rate:>11,.0f} {p50:>8.2f} {p99:>8.2f} {figure.non_2xx:>8}")
    print(f"ledger check after the run: {'0 violations' if result.ledger_clean else 'VIOLATIONS'}")


@contextmanager
def baseline_worktree(commit: str) -> Iterator[Path]:
    """The commit checked out (detached) in a temporary worktree, removed however the block ends."""
    parent = Path(tempfile.mkdtemp(prefix="orders-bench-baseline-"))
    tree = parent / "tree"
    try:
        git("worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree
    finally:
        # Forced twice: the build leaves ignored files behind, and a worktree may be locked.
        for command in (["worktree", "remove", "--force", "--force", str(tree)], ["worktree", "prune"]):
            subprocess.run(["git", *command], cwd=ROOT, capture_output=True, check=False, timeout=GIT_S_MAX)
        shutil.rmtree(parent, ignore_errors=True)


def build_engine(tree: Path, side: Side) -> tuple[bool, str]:
    """Compile the tree's matching engine with its own scripts/build-native and this interpreter.

    Returns whether a compiled engine is expected, and how it was built, for the output.
    """
    script = tree / "scripts" / "build-native"
    if side.pure_python:
        return False, "pure Python (BACKBONE_PURE_PYTHON=1)"
    if not script.exists():
        return False, "pure Python (no scripts/build-native at this revision)"
    started = time.monotonic()
    run(
        ["bash", str(script), sys.executable],
        dict(os.environ) | {"PYTHONPATH": str(side.source)},
        tree,
        BUILD_S_MAX,
    )
    elapsed_s = time.monotonic() - started
    return True, f"compiled with mypyc in this run by its own scripts/build-native ({elapsed_s:.0f} s)"


def compare(arguments: argparse.Namespace) -> None:
    """Baseline and current alternately, each run on a fresh server; then the medians per side."""
    try:
        commit = git("rev-parse", "--verify", "--quiet", f"{arguments.baseline}^{{commit}}")
    except RuntimeError:
        raise SystemExit(f"--baseline {arguments.baseline}: not a revision of {ROOT}") from None
    current_name = git("describe", "--always", "--dirty", "--abbrev=7")
    with baseline_worktree(commit) as tree:
        sides = (
            Side("baseline", git("rev-parse", "--short=7", commit), tree / "src", arguments.pure_python),
            Side("current", f"working tree {current_name}", ROOT / "src", arguments.pure_python),
        )
        print(f"baseline {arguments.baseline} = {commit}, checked out in {tree}; python {sys.executable}")
        compiled: set[bool] = set()
        for side, side_tree in zip(sides, (tree, ROOT), strict=True):
            expected, how = build_engine(side_tree, side)
            scratch = Path(tempfile.mkdtemp(prefix="orders-bench-probe-"))
            try:
                code = probe(scratch, side)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            print(f"{side.role:<8} {side.label}: matching engine {how}")
            if code.compiled != expected:
                raise SystemExit(
                    f"{side.label}: the engine did not build as intended ({code}); try --pure-python"
                )
            compiled.add(code.compiled)
        if len(compiled) != 1:
            raise SystemExit("one side is compiled and the other is not: not comparable; try --pure-python")
        results: list[Run] = []
        for round_number in range(1, arguments.rounds + 1):
            for side in sides:
                print(f"\n== round {round_number}/{arguments.rounds}: {side.role} {side.label}")
                result = measure(side, arguments.seconds, arguments.connections, show_code=True)
                print_run(result)
                results.append(result)
    print(
        f"\n{'orders, median per side':<36} {'runs':>4} {'orders/s':>9}"
        f" {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}"
    )
    medians: dict[str, tuple[float, float]] = {}
    for side in sides:
        runs = [result for result in results if result.side == side]
        orders = [result.figure("orders") for result in runs]
        rate = statistics.median(figure.requests_per_second for figure in orders)
        p50 = statistics.median(figure.p50_ms for figure in orders)
        p99 = statistics.median(figure.p99_ms for figure in orders)
        non_2xx = sum(figure.non_2xx for figure in orders)
        medians[side.role] = (rate, p99)
        name = f"{side.role} {side.label}"
        print(f"{name:<36} {len(runs):>4} {rate:>9,.0f} {p50:>8.2f} {p99:>8.2f} {non_2xx:>8}")
    (baseline_rate, baseline_p99), (rate, p99) = medians["baseline"], medians["current"]
    violations = sum(not result.ledger_clean for result in results)
    print(
        f"current / baseline: orders/s {rate / baseline_rate:.2f}x, p99 {p99 / baseline_p99:.2f}x"
        f" (orders/s above 1 and p99 below 1 are better); ledger check: {violations} runs with violations"
    )
    connections, seconds = arguments.connections, arguments.seconds
    print(
        f"{connections} connections, {seconds} s each, wrk -t1 on loopback; one server process,"
        " a fresh server and database per run"
    )


def bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def stop_on_sigterm(signal_number: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signal_number)  # unwinds the finally blocks: the server, the worktree


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=bounded(1, SECONDS_MAX), default=20)
    parser.add_argument("--connections", type=bounded(1, CONNECTIONS_MAX), default=32)
    parser.add_argument(
        "--baseline", metavar="REV", help="also measure REV's server, alternately with this tree's"
    )
    parser.add_argument("--rounds", type=bounded(1, ROUNDS_MAX), default=2, help="with --baseline")
    parser.add_argument(
        "--pure-python", action="store_true", help="with --baseline: compile neither side's engine"
    )
    arguments = parser.parse_args()
    if arguments.pure_python and arguments.baseline is None:
        parser.error("--pure-python goes with --baseline (alone, set BACKBONE_PURE_PYTHON=1)")
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    for variable in list(os.environ):
        if variable.lower() in PROXY_VARIABLES:
            del os.environ[variable]  # the set-up's requests go to the loopback, never through a proxy
    if shutil.which("wrk") is None:
        subprocess.run([str(ROOT / "scripts" / "apt-install"), "wrk"], check=True, timeout=BUILD_S_MAX)
    if arguments.baseline is not None:
        compare(arguments)
        return
    result = measure(
        Side("current", "working tree", ROOT / "src", pure_python=False),
        arguments.seconds,
        arguments.connections,
    )
    print_run(result)
    connections, seconds = arguments.connections, arguments.seconds
    print(f"{connections} connections, {seconds} s each, wrk -t1 on loopback; one server process")


if __name__ == "__main__":
    main()
