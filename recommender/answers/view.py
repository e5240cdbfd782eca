"""What a result card says, computed once per hit; JSON, text, Markdown, HTML and table cells
only lay it out (`answer.py`, `reports/report_html.py`, `reports/report_tables.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from recommender.search.calibration import MatchLevel
from recommender.search.passages import Passage
from recommender.search.search import Hit

NOT_PROVIDED = "non renseigné"
# The honest no, in two registers pinned by their readers: the assistant speaking (chat,
# CLI) and the written report. NO_MATCH is the short label of a table cell or badge.
NO_MATCH_SAID = "Je n'ai trouvé aucune action vraiment proche de ce besoin."
NO_MATCH_WRITTEN = "Aucune action proche de ce besoin n'a été trouvée dans la base."
NO_MATCH = "aucune action proche"
MISSING_WORDS = 6


def missing_sentence(unknown_words: tuple[str, ...]) -> str:
    """What the records do not talk about: the need's words that no record contains."""
    if not unknown_words:
        return ""
    shown = ", ".join(f"« {w} »" for w in unknown_words[:MISSING_WORDS])
    more = " …" if len(unknown_words) > MISSING_WORDS else ""
    return f"Aucune fiche de la base ne parle de {shown}{more}."


@dataclass(frozen=True)
class CardView:
    number: int  # 1-based rank among the cards shown
    id: str
    title: str
    structure: str  # the structure's name, else its label in the export
    departement: str
    status: str
    status_line: str  # « Terminée (motif) », the status, or « statut non renseigné »
    end_reason: str
    dimension: str
    level: MatchLevel
    score: float
    probability: float
    field: str  # label of the field the passage comes from
    passage: Passage
    summary: str
    limits: str
    perspectives: str
    public: tuple[str, ...]
    partners: tuple[str, ...]
    keywords: tuple[str, ...]

    @classmethod
    def of(cls, hit: Hit, number: int = 0) -> CardView:
        a = hit.action
        status = a.status or "statut non renseigné"
        terminated = a.is_terminated and a.end_reason
        return cls(
            number=number,
            id=a.id,
            title=a.title,
            structure=a.structure_label,
            departement=a.departement,
            status=a.status,
            status_line=f"{status} ({a.end_reason.strip()})" if terminated else status,
            end_reason=a.end_reason,
            dimension=a.dimension,
            level=hit.level,
            score=hit.score,
            probability=hit.probability,
            field=hit.passage.chunk.field.label,
            passage=hit.passage,
            summary=a.summary,
            limits=a.limits,
            perspectives=a.perspectives,
            public=a.public,
            partners=a.partners,
            keywords=a.keywords,
        )

    def people(self) -> list[str]:
        """« Public : … » and « Partenaires : … » when known (plain text)."""
        parts = [f"Public : {', '.join(self.public)}" if self.public else ""]
        parts.append(f"Partenaires : {', '.join(self.partners)}" if self.partners else "")
        return [p for p in parts if p]

    def to_dict(self) -> dict[str, object]:
        """The JSON form (CLI --json)."""
        return {
            "id": self.id,
            "title": self.title,
            "structure": self.structure,
            "departement": self.departement,
            "status": self.status,
            "end_reason": self.end_reason,
            "score": self.score,
            "probability": self.probability,
            "match_level": self.level.value,
            "field": self.field,
            "passage": self.passage.text,
            "matched_terms": list(self.passage.terms),
            "summary": self.summary,
            "limits": self.limits or NOT_PROVIDED,
            "perspectives": self.perspectives or NOT_PROVIDED,
            "public": list(self.public),
            "partners": list(self.partners),
            "keywords": list(self.keywords),
        }
