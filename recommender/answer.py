"""Turn search results into what people and machines read (JSON, plain text)."""

from __future__ import annotations

from recommender.search import Hit, SearchResult

NOT_PROVIDED = "non renseigné"


def hit_to_dict(hit: Hit) -> dict[str, object]:
    action = hit.action
    return {
        "id": action.id,
        "title": action.title,
        "structure": action.structure_name or action.structure,
        "departement": action.departement,
        "status": action.status,
        "end_reason": action.end_reason,
        "score": hit.score,
        "probability": hit.probability,
        "match_level": hit.level.value,
        "field": hit.passage.chunk.field.label,
        "passage": hit.passage.text,
        "matched_terms": list(hit.passage.terms),
        "summary": action.summary,
        "limits": action.limits or NOT_PROVIDED,
        "perspectives": action.perspectives or NOT_PROVIDED,
        "public": list(action.public),
        "partners": list(action.partners),
        "keywords": list(action.keywords),
    }


def result_to_dict(result: SearchResult) -> dict[str, object]:
    return {
        "query": result.query,
        "no_match": result.no_match,
        "notes": list(result.notes),
        "glossary": result.expansion.notes(),
        "results": [hit_to_dict(h) for h in result.hits],
        "nearest_themes": list(result.nearest_themes) if result.no_match else [],
        "facets": result.facets,
    }


def _indent(text: str, prefix: str = "     ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def result_to_text(result: SearchResult) -> str:
    lines = [f"Besoin : {result.query}"]
    lines += [f"Note : {n}" for n in (*result.notes, *result.expansion.notes())]
    if result.no_match:
        lines.append("Aucune action vraiment proche n'a été trouvée.")
        if result.nearest_themes:
            lines.append("Thèmes les plus voisins : " + ", ".join(result.nearest_themes))
    for rank, hit in enumerate(result.hits, start=1):
        a = hit.action
        lines += [
            "",
            f"{rank}. {a.title} — {hit.level.value}",
            f"   {a.structure_name or a.structure} ({a.departement or '?'}) · {a.status or '?'}",
            f"   Pourquoi ({hit.passage.chunk.field.label}) : {hit.passage.marked()}",
            "   Limites :",
            _indent(a.limits or NOT_PROVIDED),
            "   Perspectives :",
            _indent(a.perspectives or NOT_PROVIDED),
        ]
    return "\n".join(lines)
