"""Corpus report outputs: a self-contained HTML page, an XLSX workbook or a CSV table."""

from __future__ import annotations

from pathlib import Path

from recommender.answers.pitfalls import corpus_sections
from recommender.answers.themes import themes_for
from recommender.core.storage import atomic_write_bytes
from recommender.reports.corpus_analysis import CorpusReport, coverage
from recommender.reports.corpus_pairs import NEIGHBOURS
from recommender.reports.report_html import Section, fr_number, sections_document
from recommender.reports.report_tables import csv_bytes, write_sheets


def _sections(r: CorpusReport) -> list[Section]:
    a = r.actions
    themes = [
        (
            c.number,
            c.label,
            len(c.members),
            ", ".join(c.keywords),
            [a[i].title for i in c.members[:3]],
        )
        for c in r.clusters
    ]
    groups = [
        (
            g.title,
            g.id,
            [f"{d.source_file}:{d.source_line} ({d.similarity:.0%})" for d in g.duplicates],
        )
        for g in r.duplicate_groups
    ]
    pairs = [(a[p.first].title, a[p.second].title, p.cosine, f"{p.overlap:.0%}") for p in r.pairs]
    head, rows = coverage(a)
    return [
        ("Thèmes", f"{len(r.clusters)} groupes d'actions proches (k-means sur les vecteurs), "
         "avec leurs mots distinctifs et les actions les plus centrales.",
         ["N°", "Thème (mots distinctifs)", "Actions", "Mots-clés fréquents",
          "Actions représentatives"], themes),
        ("Doublons", "Fiches saisies plusieurs fois : une seule est gardée dans la base, les "
         "copies (fichier:ligne, part de texte commun) sont listées.",
         ["Action conservée", "Identifiant", "Copies"], groups),
        ("Paires très semblables", "Actions bien plus proches que la moyenne de la base, ou "
         "partageant beaucoup de texte : doublon possible ou actions jumelles, à vérifier.",
         ["Action", "Action proche", "Cosinus", "Texte commun"], pairs),
        ("Couverture", "Nombre d'actions par département et par dimension.",
         ["Département", *head], [(dep, *counts) for dep, counts in rows]),
        *corpus_sections(a, themes_for(None), mask=r.masked),  # answers/pitfalls.py
    ]  # fmt: skip


NEIGHBOUR_HEAD = ["Identifiant", "Action", "Structure", "Département", "Dimension", "Thème n°"]
NEIGHBOUR_HEAD += ["Copies", *(f"{x} {k}" for k in range(1, 6) for x in ("Voisin", "Score"))]


def _neighbour_rows(r: CorpusReport) -> list[list[object]]:
    """One row per action: identity, theme, copies, then its neighbours and scores."""
    rows: list[list[object]] = []
    for i, a in enumerate(r.actions):
        cells: list[object] = [a.id, a.title, a.structure_label, a.departement]
        cells += [a.dimension, r.theme_of[i], len(a.duplicates)]
        rows.append(
            cells + [x for j, score in r.neighbours[i] for x in (r.actions[j].title, score)]
        )
    return rows


def _intro(r: CorpusReport) -> list[str]:
    masking = "Données personnelles masquées." if r.masked else "Données personnelles NON masquées."
    low, high = (fr_number(x, 2) for x in r.typical)
    return [
        f"Généré le {r.created} — {len(r.actions)} actions. {masking}",
        "Scores : cosinus moyen entre les passages des deux actions (1 = identiques). Dans "
        f"cette base, 90 % des paires sont entre {low} et {high} : comparez les scores "
        "entre eux plutôt qu'à une valeur fixe.",
    ]


def write_html(r: CorpusReport, out: Path) -> None:
    neighbours = [
        (f"{a.title} — {a.structure_label} ({a.departement or '?'})", r.theme_of[i],
         [f"{r.actions[j].title} ({fr_number(score)})" for j, score in r.neighbours[i]])
        for i, a in enumerate(r.actions)
    ]  # fmt: skip
    sections = [
        *_sections(r),
        ("Voisins de chaque action", f"Les {NEIGHBOURS} actions les plus proches de chacune.",
         ["Action", "Thème n°", "Voisins (score)"], neighbours),
    ]  # fmt: skip
    page = sections_document("Rapport de la base d'actions", _intro(r), sections)
    atomic_write_bytes(out, page.encode("utf-8"))


def write_xlsx(r: CorpusReport, out: Path) -> None:
    tables = [(title, head, rows) for title, _, head, rows in _sections(r)]
    about = ("À propos", ["Note"], [[line] for line in _intro(r)])
    write_sheets(out, [("Voisins", NEIGHBOUR_HEAD, _neighbour_rows(r)), *tables, about])


def write_csv(r: CorpusReport, out: Path) -> None:
    atomic_write_bytes(out, csv_bytes(NEIGHBOUR_HEAD, _neighbour_rows(r)))


WRITERS = {".html": write_html, ".xlsx": write_xlsx, ".csv": write_csv}
