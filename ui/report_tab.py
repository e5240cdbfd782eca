"""The « Rapport » tab: a needs file in, a report to download."""

from __future__ import annotations

import logging
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from recommender.answer import md
from recommender.service import QueryError
from ui.common import (
    FORMATS,
    MAX_UPLOAD_BYTES,
    PRIVATE,
    UNEXPECTED,
    EngineHolder,
    EngineUnavailable,
)

log = logging.getLogger("reco.app")


def _report(
    holder: EngineHolder,
    path: str | None,
    column: str,
    fmt: str,
    top: float,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way to ask for a progress bar)
) -> tuple[Any, str]:
    try:
        from recommender.report import ReportError, read_needs, run_report
    except ImportError:
        return None, "Les rapports ne sont pas encore disponibles."
    if not path:
        return None, "Choisissez d'abord un fichier de besoins (.csv, .xlsx, .txt ou .jsonl)."
    source = Path(path)  # Gradio's own temporary copy of the upload
    if not source.is_file():
        return None, "Le fichier déposé est introuvable : déposez-le à nouveau."
    if source.stat().st_size > MAX_UPLOAD_BYTES:
        return None, "Fichier trop volumineux (plus de 10 Mo) : découpez-le en plusieurs fichiers."
    out = Path(tempfile.mkdtemp(prefix="reco-report-")) / f"rapport{FORMATS.get(fmt, '.html')}"

    def step(done: int, total: int) -> None:
        progress((done, total), desc="Besoins traités")

    try:
        needs = read_needs(source, (column or "").strip() or None)
        stats = run_report(holder(), needs, out, top=int(top), mask=True, progress=step)
    except (ReportError, QueryError, EngineUnavailable) as exc:
        return None, md(str(exc))
    except Exception:
        log.exception("report failed")
        return None, UNEXPECTED
    skipped = getattr(stats, "n_skipped", 0)
    note = f", {skipped} ligne(s) ignorée(s) (voir le rapport)" if skipped else ""
    return str(out), f"Rapport prêt : {getattr(stats, 'n_needs', '?')} besoin(s) traité(s){note}."


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
            top = gr.Slider(1, 10, value=5, step=1, label="Actions par besoin")
            go = gr.Button("Générer le rapport", variant="primary")
    status = gr.Markdown()
    result = gr.File(label="Rapport à télécharger")
    go.click(
        partial(_report, holder), [upload, column, fmt, top], [result, status],
        **PRIVATE,
    )  # fmt: skip


# ---- app -----------------------------------------------------------------------------------
