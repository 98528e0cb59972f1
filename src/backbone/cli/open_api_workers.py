"""The open API's worker processes: each listens on the shared port with a socket of its own.

uvicorn's own `workers` share one listening socket, and whichever process wakes first takes the
next connection: under load one worker took 29 of 32 kept-alive connections and the other 3, so
one core worked and the other mostly waited. With `SO_REUSEPORT` every worker binds the port
itself and the kernel spreads new connections over them evenly. This module starts the workers,
restarts one that dies, and stops them all on SIGINT or SIGTERM.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

from backbone.kit.logs import get_logger

BACKLOG = 2048
STARTUP_GRACE_S = 10.0  # a worker gone this soon after its start fails again: stop, do not loop
STOP_WAIT_S = 30.0
log = get_logger("backbone.open_api_workers")


class WorkerFailed(RuntimeError):
    pass


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to HOST:PORT beside the other workers' (SO_REUSEPORT)."""
    family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    listener = socket.socket(family, kind, protocol)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        listener.bind(address)
    except OSError:
        listener.close()
        raise
    listener.listen(BACKLOG)
    listener.setblocking(False)
    return listener


def run_worker(host: str, port: int) -> None:
    """One worker process: build the app (its node, its container) and serve on its own socket."""
    from backbone.cli.serve import open_api_worker  # noqa: PLC0415 - the spawned child's entry

    app = open_api_worker()
    config = uvicorn.Config(app, log_config=None, access_log=False, proxy_headers=False)
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def supervise(host: str, port: int, workers: int) -> None:
    """Start WORKERS processes on HOST:PORT and keep them running until SIGINT or SIGTERM."""
    listening_socket(host, port).close()  # the port is free for us, or say so now, once
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(_number: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    running: list[tuple[BaseProcess, float]] = []
    try:
        running = [_start(context, host, port) for _ in range(workers)]
        while not stopping:
            time.sleep(0.2)
            running = [_kept(context, host, port, process, started) for process, started in running]
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _stop([process for process, _ in running])


def _start(context: multiprocessing.context.SpawnContext, host: str, port: int) -> tuple[BaseProcess, float]:
    process = context.Process(target=run_worker, args=(host, port), name="open-api-worker")
    process.start()
    return process, time.monotonic()


def _kept(
    context: multiprocessing.context.SpawnContext, host: str, port: int, process: BaseProcess, started: float
) -> tuple[BaseProcess, float]:
    """The process if it runs; a new one in its place if it died after a good start."""
    if process.is_alive():
        return process, started
    if time.monotonic() - started < STARTUP_GRACE_S:
        raise WorkerFailed(f"an open API worker exited at start (code {process.exitcode}); see its log above")
    log.warning("open_api.worker_restarted", exit_code=process.exitcode)
    return _start(context, host, port)


def _stop(processes: list[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()  # uvicorn in the worker shuts down gracefully on SIGTERM
    deadline = time.monotonic() + STOP_WAIT_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
