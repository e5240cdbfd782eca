"""The « Rapport » tab: a needs file in, a report to download."""

from __future__ import annotations

import logging
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from recommender.core.text import md
from recommender.reports.report import ReportError, read_needs, run_report
from recommender.search.service import QueryError
from ui.common import (
    FORMATS,
    MAX_UPLOAD_BYTES,
    PRIVATE,
    UNEXPECTED,
    EngineHolder,
    EngineUnavailable,
    with_notice,
)

log = logging.getLogger("reco.app")
MAX_TOP = 10  # the slider's maximum


def _report(
    holder: EngineHolder,
    path: str | None,
    column: str,
    fmt: str,
    top: float,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way to ask for a progress bar)
) -> tuple[Any, str]:
    if not path:
        return None, "Choisissez d'abord un fichier de besoins (.csv, .xlsx, .txt ou .jsonl)."
    source = Path(path)  # Gradio's own temporary copy of the upload: never a path we build
    try:
        size = source.stat().st_size if source.is_file() else -1
    except (OSError, ValueError):  # name too long, NUL byte…: not a file Gradio made
        size = -1
    if size < 0:
        return None, "Le fichier déposé est introuvable : déposez-le à nouveau."
    if size >= MAX_UPLOAD_BYTES:
        return None, "Fichier trop volumineux (10 Mo ou plus) : découpez-le en plusieurs fichiers."
    if not isinstance(top, int | float) or not 1 <= top <= MAX_TOP:
        return None, f"Le nombre d'actions par besoin doit être compris entre 1 et {MAX_TOP}."

    def step(done: int, total: int) -> None:
        progress((done, total), desc="Besoins traités")

    try:
        needs = read_needs(source, (column or "").strip() or None)  # a column name, not a path
        served = holder.served()
        # The report's name is ours, in a new private directory: nothing the user typed is in it.
        out = Path(tempfile.mkdtemp(prefix="reco-report-")) / f"rapport{FORMATS.get(fmt, '.html')}"
        stats = run_report(served.engine, needs, out, top=int(top), mask=True, progress=step)
    except ReportError as exc:  # its messages start in lower case (after « Erreur : » in the CLI)
        return None, md(f"Rapport impossible : {exc}")
    except (QueryError, EngineUnavailable) as exc:
        return None, md(str(exc))
    except Exception:
        log.exception("report failed")
        return None, UNEXPECTED
    skipped = stats.n_skipped
    note = f", {skipped} ligne(s) ignorée(s) (voir le rapport)" if skipped else ""
    done = f"Rapport prêt : {stats.n_needs} besoin(s) traité(s){note}."
    return str(out), with_notice(served.notice, done)


def report_tab(holder: EngineHolder) -> None:
    gr.Markdown(
        "Déposez un fichier de besoins (un besoin par ligne pour un .txt ; une colonne "
        "« besoin » pour un tableau) : chaque besoin reçoit ses actions proches. 10 Mo maximum."
    )
    with gr.Row():
        upload = gr.File(
            label="Fichier de besoins", file_types=[".csv", ".xlsx", ".txt", ".jsonl"],
            type="filepath",
        )  # fmt: skip
        with gr.Column():
            column = gr.Textbox(label="Colonne des besoins (facultatif)", placeholder="besoin")
            fmt = gr.Radio(list(FORMATS), value="HTML", label="Format du rapport")
            top = gr.Slider(1, MAX_TOP, value=5, step=1, label="Actions par besoin")
            go = gr.Button("Générer le rapport", variant="primary")
    status = gr.Markdown()
    result = gr.File(label="Rapport à télécharger")
    go.click(
        partial(_report, holder), [upload, column, fmt, top], [result, status],
        **PRIVATE,
    )  # fmt: skip


# ---- app -----------------------------------------------------------------------------------
