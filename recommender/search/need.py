"""The need as understood: public, territory, département and themes detected in a text.

Used to restate the need in the answer (« J'ai compris : … ») and by follow-ups
(« plutôt pour les ados » → public Jeunesse).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from recommender.index.lexical import analyze
from recommender.records.departements import find_departements
from recommender.records.records import Action, fold

# Words people type -> the export's « Public » values.
PUBLIC_CUES: dict[str, tuple[str, ...]] = {
    "Jeunesse": (
        "ado",
        "ados",
        "adolescent",
        "adolescents",
        "adolescentes",
        "jeunes",
        "jeunesse",
        "collegiens",
        "collegiennes",
        "lyceens",
        "16-25",
    ),
    "Jeunes adultes": ("jeunes adultes", "18-25", "etudiants"),
    "Petite enfance": (
        "bebe",
        "bebes",
        "tout-petits",
        "tout petits",
        "petite enfance",
        "nourrissons",
        "0-3 ans",
    ),
    "Enfance": ("enfants", "enfant", "ecoliers", "primaire", "maternelle"),
    "Seniors": (
        "seniors",
        "senior",
        "personnes agees",
        "aines",
        "retraites",
        "anciens",
        "vieillissement",
    ),
    "familles": (
        "familles",
        "famille",
        "parents",
        "mamans",
        "papas",
        "meres",
        "peres",
        "parentalite",
    ),
    "Adultes": ("adultes",),
    "Tous publics": ("tout public", "tous publics", "intergenerationnel"),
}
TERRITORY_CUES: dict[str, tuple[str, ...]] = {
    "quartier": ("quartier", "quartiers", "qpv", "cite", "immeubles", "hlm"),
    "rural": ("rural", "rurale", "campagne", "village", "villages"),
    "commune": ("commune", "communes", "ville", "intercommunal", "canton"),
}


@dataclass(frozen=True)
class Need:
    text: str
    publics: tuple[str, ...]
    territories: tuple[str, ...]
    departements: tuple[str, ...]
    themes: tuple[str, ...]

    def summary(self) -> str:
        """One French sentence restating what was understood."""
        parts = []
        if self.publics:
            parts.append("public : " + ", ".join(self.publics))
        if self.territories:
            parts.append("territoire : " + ", ".join(self.territories))
        if self.departements:
            parts.append("département : " + ", ".join(self.departements))
        if self.themes:
            parts.append("thèmes : " + ", ".join(self.themes))
        if not parts:
            return "Je n'ai repéré ni public, ni territoire, ni thème précis dans votre demande."
        return "J'ai compris — " + " ; ".join(parts) + "."


def _has(folded: str, cue: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(cue)}(?![\w-])", folded) is not None


def detect_publics(text: str) -> tuple[str, ...]:
    folded = fold(text)
    found = [p for p, cues in PUBLIC_CUES.items() if any(_has(folded, c) for c in cues)]
    if "Jeunes adultes" in found and "Jeunesse" in found and not _has(folded, "ados"):
        found.remove("Jeunesse")
    return tuple(found)


def detect_territories(text: str) -> tuple[str, ...]:
    folded = fold(text)
    return tuple(t for t, cues in TERRITORY_CUES.items() if any(_has(folded, c) for c in cues))


def detect_themes(text: str, vocabulary: Iterable[str]) -> tuple[str, ...]:
    """Corpus keywords whose stems all appear in the text (« parentalité », « santé »…)."""
    stems = set(analyze(text))
    themes = []
    for keyword in vocabulary:
        needed = set(analyze(keyword))
        if needed and needed <= stems:
            themes.append(keyword)
    return tuple(themes[:5])


_VOCABULARY: dict[int, tuple[tuple[Action, ...], list[str]]] = {}


def keyword_vocabulary(actions: Sequence[Action]) -> list[str]:
    """The keyword tags of the actions, sorted; kept per engine's actions (a tuple), as the
    loop over 20,000 actions took 14 ms of every need."""
    if not isinstance(actions, tuple):
        return sorted({k for a in actions for k in a.keywords})
    hit = _VOCABULARY.get(id(actions))
    if hit is None or hit[0] is not actions:
        if len(_VOCABULARY) > 8:
            _VOCABULARY.clear()
        hit = _VOCABULARY[id(actions)] = (actions, sorted({k for a in actions for k in a.keywords}))
    return hit[1]


def understand(text: str, actions: Sequence[Action]) -> Need:
    vocabulary = keyword_vocabulary(actions)
    return Need(
        text=text,
        publics=detect_publics(text),
        territories=detect_territories(text),
        departements=find_departements(text),
        themes=detect_themes(text, vocabulary),
    )


def clarifying_question(need: Need) -> str:
    """What to ask when nothing is close: the parts of the need it does not say yet."""
    missing = []
    if not need.publics:
        missing.append("le public concerné (familles, jeunes, seniors…)")
    if not need.territories:
        missing.append("le territoire (quartier, commune rurale…)")
    missing.append("ce que vous voudriez mettre en place ou ce qui manque aujourd'hui")
    return "Pouvez-vous préciser " + ", ".join(missing) + " ?"
