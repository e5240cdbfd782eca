"""Figure 4: `python app.py` start (index already built) to the first answer via /chat.

The app runs in its own process on a free loopback port, with the benchmark's temporary
index and feedback database; it is stopped (by its process id) after each measure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Section, peak_rss_bytes, percentile, rss_bytes
from bench.markdown import number

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"
TARGET_READY_S = 5.0
QUESTION = "Les mamans avec des bébés restent seules chez elles"
COLUMNS = [
    "mesure",
    "serveur prêt p50 (s)",
    "1re réponse p50 (s)",
    "1re réponse p95 (s)",
    "RSS après réponse (Mo)",
    "RSS max (Mo)",
    "objectif prêt ≤ 5 s",
]
ABSENT = "non mesuré (app absente)"


def app_available() -> bool:
    return APP.is_file()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(env: dict[str, str], port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        **env,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    return subprocess.Popen(
        [sys.executable, str(APP)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped with its children
    )


def connect(port: int, process: subprocess.Popen, timeout: float):
    from gradio_client import Client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py s'est arrêtée (code {process.returncode})")
        try:
            return Client(f"http://127.0.0.1:{port}/", verbose=False)
        except Exception:  # not listening yet
            time.sleep(0.1)
    raise TimeoutError("app.py n'a pas répondu à temps")


def one_start(env: dict[str, str], timeout: float) -> tuple[float, float, int, int]:
    """(seconds to a listening server, seconds to the first answer, RSS, peak RSS)."""
    port = free_port()
    started = time.perf_counter()
    process = start_app(env, port)
    try:
        client = connect(port, process, timeout)
        listening = time.perf_counter() - started
        endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        if "/chat" not in endpoints:
            raise RuntimeError("pas de point d'API /chat")
        reply = client.predict(QUESTION, api_name="/chat")
        answered = time.perf_counter() - started
        text = reply[0] if isinstance(reply, list | tuple) else reply
        if not isinstance(text, str) or not text.strip():
            raise RuntimeError("réponse vide de /chat")
        return listening, answered, rss_bytes(process.pid), peak_rss_bytes(process.pid)
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def startup_breakdown(env: dict[str, str]) -> str:
    """One French sentence: cumulative seconds of each start-up step (fresh process)."""
    command = [sys.executable, "-m", "bench.startup"]
    try:
        done = subprocess.run(
            command, cwd=REPO, env={**os.environ, **env}, capture_output=True, timeout=300
        )
        marks = json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        return f"Décomposition du démarrage non mesurée ({exc})."
    steps = " ; ".join(f"{name} {number(t)} s" for name, t in marks.items())
    return f"Décomposition (temps cumulés, processus neuf sans serveur web) : {steps}."


def run(env: dict[str, str], repeats: int, timeout: float = 180.0) -> Section:
    section = Section("app", "Application : démarrage et première réponse", COLUMNS)
    if not app_available():
        section.rows.append({c: ABSENT if c == "mesure" else "—" for c in COLUMNS})
        return section
    try:
        runs = [one_start(env, timeout) for _ in range(repeats)]
    except Exception as exc:  # any failure of the app is reported, not fatal to the run
        section.rows.append({c: "—" for c in COLUMNS} | {"mesure": f"non mesuré ({exc})"})
        return section
    listening = [r[0] for r in runs]
    answered = [r[1] for r in runs]
    values = [
        f"`python app.py` → /chat ({repeats} démarrages)",
        percentile(listening, 50),
        percentile(answered, 50),
        percentile(answered, 95),
        runs[-1][2] / 1e6,
        max(r[3] for r in runs) / 1e6,
        "oui" if percentile(answered, 50) <= TARGET_READY_S else "non",
    ]
    section.rows.append(dict(zip(COLUMNS, values, strict=True)))
    section.notes.append(startup_breakdown(env))
    section.notes.append(
        "Chronomètre lancé juste avant `python app.py` (index déjà construit), arrêté quand "
        f"gradio_client reçoit la réponse de /chat à « {QUESTION} » ; port libre sur "
        "127.0.0.1 ; mémoire résidente lue dans /proc/<pid>/status (VmRSS, VmHWM)."
    )
    return section
