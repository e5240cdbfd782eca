"""What the CLI commands do, kept out of cli.py so the CLI only parses arguments."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import typer
from tqdm import tqdm

from embeddings import EncoderUnavailable, get_encoder
from recommender.answers.answer import result_to_dict, result_to_text
from recommender.answers.pitfalls import Scope
from recommender.core.config import Settings
from recommender.index.build import BuildStats, build_index
from recommender.index.directory import IndexInvalid
from recommender.index.vector_index import IndexKind
from recommender.records.ingest import IngestReport
from recommender.records.records import read_actions
from recommender.search.filters import Filters
from recommender.search.search import SearchConfig
from recommender.search.service import Engine, QueryError


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a French error message on stderr and exit non-zero (no stack trace)."""
    typer.echo(f"Erreur : {message}", err=True)
    raise typer.Exit(code)


def _actions(settings: Settings):
    return _actions_read(settings)[0]


def _actions_read(settings: Settings):
    """The actions and the sha256 of the data file's bytes they were read from."""
    if not settings.data_path.is_file():
        fail(f"{settings.data_path} introuvable : lancez `reco ingest data/raw`.")
    try:
        actions, digest = read_actions(settings.data_path)
    except ValueError as exc:
        fail(str(exc))
    if not actions:
        fail(f"{settings.data_path} ne contient aucune action : lancez `reco ingest data/raw`.")
    return actions, digest


def run_build(settings: Settings, kind: IndexKind, show_progress: bool) -> BuildStats:
    actions, digest = _actions_read(settings)
    try:
        encoders = [
            (spec, get_encoder(spec, models_dir=settings.models_dir)) for spec in settings.encoders
        ]
        return build_index(
            actions,
            encoders,
            settings.index_dir,
            settings.cache_dir,
            kind=kind,
            show_progress=show_progress,
            data_digest=digest,
        )
    except EncoderUnavailable as exc:
        fail(str(exc))


def ingest_summary(report: IngestReport, output: Path) -> str:
    """What `reco ingest` read, merged and wrote (French, one item per line)."""
    lines = [f"{report.parsed} actions lues dans {len(report.counts)} fichier(s) :"]
    lines += [f"  {name} : {count}" for name, count in report.counts.items()]
    lines.append(f"{len(report.groups)} groupe(s) de doublons :")
    for group in report.groups:
        copies = ", ".join(f"{a.source_file}:{a.source_line}" for a in group.others)
        lines.append(
            f"  « {group.canonical.title} » ({group.canonical.id}, "
            f"{group.canonical.source_file}:{group.canonical.source_line}) ; copies : {copies}"
        )
    if report.skipped:
        lines.append(f"Fichiers ignorés (format non pris en charge) : {', '.join(report.skipped)}")
    lines.append(f"{len(report.actions)} actions uniques écrites dans {output}")
    return "\n".join(lines)


def build_summary(stats: BuildStats) -> str:
    lines = [
        f"Index écrit dans {stats.index_dir} : {stats.n_actions} actions, "
        f"{stats.n_chunks} passages, en {stats.seconds:.1f} s."
    ]
    for e in stats.encoders:
        rate = f"{e.embedded / e.seconds:.1f} passages/s" if e.embedded and e.seconds else "—"
        lines.append(
            f"  {e.spec} ({e.encoder_id}) : {e.embedded} passages encodés, {e.cached} repris "
            f"du cache, {e.seconds:.1f} s, {rate}"
        )
    return "\n".join(lines)


def load_engine(settings: Settings, config: SearchConfig | None = None) -> Engine:
    try:
        return Engine.load(settings, config)
    except (IndexInvalid, EncoderUnavailable) as exc:
        fail(str(exc))
    except FileNotFoundError as exc:
        fail(f"fichier introuvable : {exc.filename} (lancez `make run` ou `reco ingest`).")


def emit(payload: dict, text: str, as_json: bool) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False) if as_json else text)


def search_one(engine: Engine, text: str, filters: Filters, top: int, as_json: bool) -> None:
    try:
        result = engine.search(text, filters, top)
    except QueryError as exc:
        fail(str(exc), code=2)
    emit(result_to_dict(result), result_to_text(result), as_json)


def search_file(engine: Engine, path: Path, filters: Filters, top: int, as_json: bool) -> None:
    """One result per non-empty line; a bad line gets an error object, the rest go on."""
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"lecture de {path} impossible ({exc}).")
    for line in lines:
        try:
            result = engine.search(line, filters, top)
        except QueryError as exc:
            emit({"query": line, "error": str(exc)}, f"{line}\n  Erreur : {exc}", as_json)
            continue
        emit(result_to_dict(result), result_to_text(result) + "\n", as_json)
        sys.stdout.flush()


def similar_one(engine: Engine, action_id: str, top: int, as_json: bool) -> None:
    try:
        result = engine.similar(action_id, top=top)
    except QueryError as exc:
        fail(str(exc), code=2)
    emit(result_to_dict(result), result_to_text(result), as_json)


def run_model_build(folder: Path, force: bool) -> str:
    from embeddings.e5_rebuild import RebuildError, build_model

    try:
        result = build_model(folder, force=force)
    except RebuildError as exc:
        fail(str(exc))
    if result.skipped:
        return f"Modèle déjà à jour dans {result.target} (rien à faire)."
    return (
        f"Modèle écrit dans {result.target} : {result.size_bytes / 1e6:.0f} Mo "
        f"en {result.seconds:.1f} s."
    )


def run_report_cli(
    settings: Settings,
    needs_path: Path,
    out: Path,
    *,
    top: int,
    column: str | None,
    filters: Filters,
    mask: bool,
) -> None:
    """`reco report`: read the needs, search them with a progress bar, write the report."""

    from recommender.reports.report import ReportError, check_output, read_needs, run_report

    try:
        check_output(out)
        needs = read_needs(needs_path, column)
    except ReportError as exc:
        fail(str(exc))
    engine = load_engine(settings)
    bar = tqdm(total=len(needs.needs), unit="besoin", desc="Besoins", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        stats = run_report(
            engine, needs, out, top=top, filters=filters, mask=mask, progress=progress
        )
    except ReportError as exc:
        fail(str(exc))
    finally:
        bar.close()
    typer.echo(stats.summary())


def run_corpus_report_cli(settings: Settings, out: Path, *, mask: bool) -> None:
    """`reco corpus-report`: neighbours, duplicates, themes and coverage of the corpus."""
    from recommender.index.directory import load_index
    from recommender.reports.corpus_report import check_corpus_output, run_corpus_report
    from recommender.reports.report import ReportError

    try:
        check_corpus_output(out)
    except ReportError as exc:
        fail(str(exc))
    actions = _actions(settings)
    try:
        index = load_index(settings.index_dir, actions)
    except IndexInvalid as exc:
        fail(str(exc))
    typer.echo(run_corpus_report(index, out, mask=mask).summary())


def run_limites(
    settings: Settings,
    scope: Scope,
    need: str | None,
    *,
    theme: str | None,
    examples: int,
    top: int,
    as_json: bool,
    mask: bool,
) -> None:
    """`reco limites`: recurring limits and perspectives of the actions in scope."""
    from recommender.answers.pitfalls import pitfalls_text, recurring
    from recommender.answers.themes import KINDS, themes_for
    from recommender.search.calibration import MatchLevel

    engine = load_engine(settings)
    themes = themes_for(engine, wait=True)
    known = {k for kind in KINDS for k in themes.taxonomy.keys(kind)}
    if theme and theme not in known:
        fail(f"thème « {theme} » inconnu (thèmes : {', '.join(sorted(known))}).", code=2)
    actions, notes = scope.select(engine.actions)
    label = scope.describe()
    if need:
        try:
            result = engine.search(need, top=top)
        except QueryError as exc:
            fail(str(exc), code=2)
        close = {h.action.id for h in result.hits if h.level is not MatchLevel.FAR}
        actions = [a for a in actions if a.id in close]
        label = f"besoin « {need} »" + ("" if label == "toute la base" else f" ; {label}")
    found = recurring(actions, themes, scope=label, notes=notes, mask=mask, only=theme)
    emit(found.to_dict(None if theme else examples), pitfalls_text(found, examples), as_json)
