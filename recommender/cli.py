"""Command line `reco`: thin commands that delegate to the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from recommender.export import ExportError
from recommender.ingest import IngestFailed, IngestReport, ingest_paths
from recommender.records import save_actions

app = typer.Typer(
    help="Recommandeur des actions des centres sociaux.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_ACTIONS = Path("data/actions.jsonl")


@app.callback()
def _root() -> None:
    """Recommandeur des actions des centres sociaux."""


def fail(message: str, code: int = 1) -> None:
    """Print a French error message on stderr and exit non-zero (no stack trace)."""
    typer.echo(f"Erreur : {message}", err=True)
    raise typer.Exit(code)


def _ingest_summary(report: IngestReport, output: Path) -> str:
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


@app.command()
def ingest(
    inputs: Annotated[list[Path], typer.Argument(help="Fichiers ou dossiers d'export.")],
    output: Annotated[Path, typer.Option("-o", "--output")] = DEFAULT_ACTIONS,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
) -> None:
    """Lit les exports (.txt, .jsonl, .csv) et écrit une action par ligne (JSON Lines)."""
    try:
        report = ingest_paths(inputs)
    except IngestFailed as exc:
        for error in exc.errors:
            typer.echo(f"Erreur : {error}", err=True)
        fail(f"rien n'a été écrit ; {output} est inchangé.")
    except ExportError as exc:
        fail(f"{exc} ; rien n'a été écrit.")
    save_actions(output, report.actions)
    if as_json:
        payload = {
            "parsed": report.parsed,
            "counts": report.counts,
            "unique": len(report.actions),
            "duplicate_groups": [
                {"canonical": g.canonical.id, "copies": [d.to_dict() for d in g.others]}
                for g in report.groups
            ],
            "output": str(output),
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        typer.echo(_ingest_summary(report, output))


def main() -> None:
    app(prog_name="reco")


if __name__ == "__main__":
    sys.exit(main())
