"""The keyword lists that filed limit and perspective statements before issue 14
(answers/synthesis.py, written before the labels), mapped to the reviewed themes: the
« before » row of bench/theme_classifier.py."""

from __future__ import annotations

from recommender.answers.taxonomy import OTHER
from recommender.index.lexical import analyze

# The former lists (answers/synthesis.py before issue 14) and the new theme they stand for.
OLD_LISTS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "limite": {
        "Mobiliser et garder le public": ("mobilisation_public", ("mobilis", "particip",
            "frequent", "inscri", "venu", "touch", "essouffl", "assidu", "absent", "adher")),
        "Moyens financiers": ("financement", ("cout", "financ", "budget", "subvent", "argent",
            "payant", "prix", "fond", "euro")),
        "Équipe et bénévoles": ("equipe_benevoles", ("benevol", "salari", "equip", "animateur",
            "professionnel", "personnel", "referent", "encadr")),
        "Temps et organisation": ("temps_duree", ("temp", "organis", "planning", "calendri",
            "horair", "dure", "logist", "rythm")),
        "Partenariats": ("partenariat_institutions", ("partenair", "partenariat", "collabor",
            "reseau", "institu")),
        "Contexte sanitaire": ("contexte_sanitaire", ("covid", "sanitair", "confin", "crise",
            "virus")),
        "Communication": (OTHER, ("communiqu", "communic", "inform", "affich", "diffus",
            "connaitr")),
        "Lieux et matériel": ("locaux_materiel", ("local", "lieu", "sall", "materiel", "espac",
            "equipe", "transport")),
    },
    "perspective": {
        "Poursuivre et pérenniser": ("poursuivre", ("poursuiv", "continu", "renouvel",
            "perenn", "reconduir", "maintien", "maintenir", "prochain", "annee")),
        "Élargir le public ou le territoire": ("elargir_public", ("elarg", "ouvr", "etendr",
            "developp", "nouveau", "autr", "quarti", "commun")),
        "Impliquer davantage les habitants": ("impliquer_habitants", ("habit", "benevol",
            "autonom", "particip", "implique", "implic", "porteur")),
        "Renforcer les partenariats": ("partenariats", ("partenair", "partenariat", "collabor",
            "reseau")),
        "Se former et outiller": (OTHER, ("form", "outil", "guid", "livret", "support")),
    },
}  # fmt: skip


def old_keywords(text: str, kind: str) -> str:
    """The first former list with a matching stem, as a new theme (« autre » if none)."""
    stems = set(analyze(text))
    for theme, cues in OLD_LISTS[kind].values():
        if any(s.startswith(cues) for s in stems):
            return theme
    return OTHER
