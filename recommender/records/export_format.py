"""What the text export « Les actions des centres sociaux » looks like: its header, labels,
section headers, and the error that locates a problem in it (used by `export.py`)."""

from __future__ import annotations

HEADER = "Les actions des centres sociaux"

# Export label -> field name. Keys are compared after `norm_label` (apostrophes, spaces).
LABELS: dict[str, str] = {
    "Structure organisatrice": "structure",
    "Fichier(s) associé(s)": "files",
    "Statut de l'action": "status",
    "Raisons pour lesquelles l'action est terminée": "end_reason",
    "Dimension": "dimension",
    "Mots clés associés à l'action": "keywords",
    "Résumé": "summary",
    "Qui est à l'initiative de l'action ?": "initiative",
    "Précision ( si autre )": "initiative_detail",
    "Territoire concerné": "territory",
    "Description de l'expérience, ses objectifs, ses acteurs et ses différentes phases.": (
        "experience"
    ),
    "Public": "public",
    "Avec qui cette action a-t-elle été menée ?": "partners",
    "Description générale": "description",
    "Ressources financières mobilisées pour cette action": "resources",
    "Nombre de personnes mobilisés pour cette action": "people",
    "Résultat sur le territoire": "result_territory",
    "Résultat pour le centre social": "result_centre",
    "Résultat pour les habitants": "result_inhabitants",
    "Suite de l'action : Limites": "limits",
    "Suite de l'action : Perspectives": "perspectives",
}
SECTION_HEADERS = (
    "DESCRIPTION DE L'ACTION",
    "RAISON D'ETRE DE L' ACTION",
    "METHODOLOGIE DE L' ACTION",
    "AUTO-EVALUATION DE L'ACTION",
    "FICHIERS ASSOCIES",
)
# Sub-headings the export prints inside a list field; they are not values.
SUB_HEADINGS = ("Partenaires d'action:",)
SINGLE_VALUED = ("structure", "status", "dimension")
LIST_VALUED: tuple[str, ...] = ("structure", "status", "dimension", "keywords", "initiative")
LIST_VALUED += ("territory", "public", "partners")


class ExportError(ValueError):
    """A problem in an export file, located by file and line, worded for users."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}, ligne {line} : {message}")
        self.source = source
        self.line = line


def norm_label(text: str) -> str:
    return " ".join(text.replace("’", "'").split())
