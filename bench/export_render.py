"""Render `Action` records back into the text export, in either layout (tests, bench).

The order of labels, the `-` line that opens some lists, the `Partenaires d'action:`
sub-heading and the territory printed twice all follow the real exports in data/raw/.

Layout 1: a line `Actions`, the title on the next line, then `- Label` lines.
Layout 2: `Actions "Title"`, with the labels grouped under section headers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from recommender.records.records import Action

HEADER = "Les actions des centres sociaux"

L_STRUCTURE = "- Structure organisatrice"
L_FILES = "- Fichier(s) associé(s)"
L_STATUS = "- Statut de l'action"
L_END_REASON = "- Raisons pour lesquelles l'action est terminée"
L_DIMENSION = "- Dimension"
L_KEYWORDS = "- Mots clés associés à l'action"
L_SUMMARY = "- Résumé"
L_INITIATIVE = "- Qui est à l'initiative de l'action ?"
L_INITIATIVE_DETAIL = "- Précision ( si autre )"
L_TERRITORY = "- Territoire concerné"
L_EXPERIENCE = (
    "- Description de l'expérience, ses objectifs, ses acteurs et ses différentes phases."
)
L_PUBLIC = "- Public"
L_PARTNERS = "- Avec qui cette action a-t-elle été menée ?"
PARTNERS_SUBHEADING = "Partenaires d'action:"
L_DESCRIPTION = "- Description générale"
L_RESOURCES = "- Ressources financières mobilisées pour cette action"
L_PEOPLE = "- Nombre de personnes mobilisés pour cette action"
L_RESULT_TERRITORY = "- Résultat sur le territoire"
L_RESULT_CENTRE = "- Résultat pour le centre social"
L_RESULT_INHABITANTS = "- Résultat pour les habitants"
L_LIMITS = "- Suite de l'action : Limites"
L_PERSPECTIVES = "- Suite de l'action : Perspectives"

# Layout 2 section headers, exactly as printed (the fourth one has a typographic apostrophe).
S_DESCRIPTION = "DESCRIPTION DE L'ACTION"
S_REASON = "RAISON D'ETRE DE L' ACTION"
S_METHOD = "METHODOLOGIE DE L' ACTION"
S_EVALUATION = "AUTO-EVALUATION DE L’ACTION"
S_FILES = "FICHIERS ASSOCIES"


def _text(label: str, value: str) -> list[str]:
    return [label, *(value.split("\n") if value else [])]


def _single(label: str, value: str) -> list[str]:
    return [label, *([f"- {value}"] if value else [])]


def _items(label: str, items: Sequence[str], *, dash: bool = False) -> list[str]:
    return [label, *(["-"] if dash else []), *(f"- {item}" for item in items)]


def _status_block(a: Action) -> list[str]:
    lines = _single(L_STATUS, a.status)
    if a.is_terminated or a.end_reason:
        lines += _text(L_END_REASON, a.end_reason)
    return lines


def _initiative_block(a: Action) -> list[str]:
    lines = _items(L_INITIATIVE, a.initiative, dash=True)
    if a.initiative_detail:
        lines += _text(L_INITIATIVE_DETAIL, a.initiative_detail)
    return lines


def _partners_block(a: Action) -> list[str]:
    return [L_PARTNERS, "-", PARTNERS_SUBHEADING, *(f"- {p}" for p in a.partners)]


def _results_block(a: Action) -> list[str]:
    return [
        *_text(L_RESULT_TERRITORY, a.result_territory),
        *_text(L_RESULT_CENTRE, a.result_centre),
        *_text(L_RESULT_INHABITANTS, a.result_inhabitants),
        *_text(L_LIMITS, a.limits),
        *_text(L_PERSPECTIVES, a.perspectives),
    ]


def render_layout1(a: Action) -> list[str]:
    """One record in layout 1 (exports 000 and 003)."""
    return [
        "Actions",
        a.title,
        *_single(L_STRUCTURE, a.structure),
        *_text(L_FILES, a.files),
        *_status_block(a),
        *_single(L_DIMENSION, a.dimension),
        *_items(L_KEYWORDS, a.keywords, dash=True),
        *_text(L_SUMMARY, a.summary),
        *_initiative_block(a),
        *_items(L_TERRITORY, a.territory),
        *_text(L_EXPERIENCE, a.experience),
        *_items(L_PUBLIC, a.public),
        *_partners_block(a),
        *_items(L_TERRITORY, a.territory),
        *_text(L_DESCRIPTION, a.description),
        *_text(L_RESOURCES, a.resources),
        *_text(L_PEOPLE, a.people),
        *_results_block(a),
    ]


def render_layout2(a: Action) -> list[str]:
    """One record in layout 2 (exports 001 and 002)."""
    return [
        f'Actions "{a.title}"',
        S_DESCRIPTION,
        *_status_block(a),
        *_single(L_DIMENSION, a.dimension),
        *_items(L_KEYWORDS, a.keywords, dash=True),
        *_text(L_SUMMARY, a.summary),
        *_single(L_STRUCTURE, a.structure),
        S_REASON,
        *_initiative_block(a),
        *_text(L_EXPERIENCE, a.experience),
        *_items(L_TERRITORY, a.territory),
        S_METHOD,
        *_items(L_PUBLIC, a.public),
        *_partners_block(a),
        *_items(L_TERRITORY, a.territory),
        *_text(L_DESCRIPTION, a.description),
        *_text(L_RESOURCES, a.resources),
        *_text(L_PEOPLE, a.people),
        S_EVALUATION,
        *_results_block(a),
        S_FILES,
        *_text(L_FILES, a.files),
    ]


RENDERERS: dict[int, Callable[[Action], list[str]]] = {1: render_layout1, 2: render_layout2}


def render_lines(actions: Sequence[Action], layout: int) -> list[str]:
    """All lines of an export (header included), without line terminators."""
    lines = [HEADER]
    for action in actions:
        lines += RENDERERS[layout](action)
    return lines


def render_export(actions: Sequence[Action], layout: int, *, final_newline: bool = False) -> str:
    """The export text; real exports have no newline after their last line."""
    return "\n".join(render_lines(actions, layout)) + ("\n" if final_newline else "")


def start_lines(actions: Sequence[Action], layout: int) -> list[int]:
    """1-based line number of each record's first line (`Actions …`) in `render_export`."""
    numbers, line = [], 2
    for action in actions:
        numbers.append(line)
        line += len(RENDERERS[layout](action))
    return numbers
