"""Self-contained HTML for reports and chat downloads: inline CSS, no script, no link out.

All record and user text goes through `esc` (a need containing `<script>` stays text).
Printing (or « Enregistrer en PDF ») starts each need on a new page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources

from recommender.answers.answer import Answer, Card
from recommender.answers.synthesis import Synthesis, notes, point_sentence
from recommender.answers.view import NO_MATCH, NO_MATCH_WRITTEN, NOT_PROVIDED, missing_sentence
from recommender.core.text import highlight, shorten
from recommender.reports.report_tables import ReportDoc, ReportItem
from recommender.search.calibration import MatchLevel
from recommender.search.passages import Passage

LEVEL_CLASS = {
    MatchLevel.VERY_CLOSE: "lv-vc",
    MatchLevel.CLOSE: "lv-c",
    MatchLevel.EXPLORE: "lv-e",
    MatchLevel.FAR: "lv-f",
}
SUMMARY_NEED_CHARS = 220
CARD_SUMMARY_CHARS = 700  # the full text is in the XLSX « Actions citées » sheet


@cache
def css() -> str:
    """The reports' style sheet (report.css, package data), read once on first use."""
    return resources.files("recommender.reports").joinpath("report.css").read_text("utf-8")


def esc(text: object) -> str:
    return html.escape(str(text or ""), quote=True)


def document(title: str, body: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{css()}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def heading(column: str) -> str:
    """A column name as a heading: « territoire » -> « Territoire »."""
    return column[:1].upper() + column[1:]


def level_badge(level: MatchLevel | None) -> str:
    if level is None:
        return f'<span class="lv lv-none">{esc(NO_MATCH)}</span>'
    return f'<span class="lv {LEVEL_CLASS[level]}">{esc(level.value)}</span>'


def marked(passage: Passage) -> str:
    """The passage with the words of the need highlighted (escaped piece by piece)."""
    return " ".join(highlight(passage.text, passage.spans, "<mark>", "</mark>", esc).split())


def _block(label: str, text: str) -> str:
    body = (
        f'<div class="block">{esc(text.strip())}</div>'
        if text.strip()
        else (f'<div class="block missing">{esc(NOT_PROVIDED)}</div>')
    )
    return f'<div class="label">{esc(label)}</div>{body}'


def card_html(card: Card) -> str:
    v = card.view
    dimension = f" · {esc(v.dimension)}" if v.dimension else ""
    parts = [
        '<article class="card">',
        f"<h3>{v.number}. {esc(v.title)} {level_badge(v.level)}</h3>",
        f'<p class="meta">{esc(v.structure)} — {esc(v.departement or "?")}'
        f" · {esc(v.status_line)}{dimension}</p>",
        f'<div class="why"><span class="label">Pourquoi cette action ?</span> '
        f"<em>({esc(v.field)})</em> {marked(v.passage)}</div>",
    ]
    if v.summary.strip():
        parts.append(_block("Résumé", shorten(v.summary, CARD_SUMMARY_CHARS, keep_lines=True)))
    parts += [_block("Limites", v.limits), _block("Perspectives", v.perspectives)]
    if v.people():
        parts.append(f'<p class="meta">{" · ".join(esc(p) for p in v.people())}</p>')
    parts.append("</article>")
    return "\n".join(parts)


def synthesis_html(synthesis: Synthesis) -> str:
    """The same synthesis as the chat's (answers/synthesis.py), as HTML."""
    if not synthesis:
        return ""
    parts = [f"<h4>{esc(synthesis.title)}</h4>"]
    for group in synthesis.groups:
        parts.append(f'<div class="label">{esc(group.theme)}</div><ul>')
        for point in group.points:
            count, text, cards = point_sentence(point, synthesis.n_cards)
            parts.append(
                f'<li><strong>{esc(count)}</strong> : {esc(text)} <span class="refs">'
                f"({esc(cards)})</span></li>"
            )
        parts.append("</ul>")
    if notes(synthesis):
        parts.append(f'<p class="note">{esc(" · ".join(notes(synthesis)))}</p>')
    return "\n".join(parts)


def answer_html(answer: Answer) -> str:
    """Cards then synthesis, or the honest « nothing close » with the nearest themes."""
    parts = [f'<p class="understood">{esc(answer.need.summary())}</p>']
    parts += [f'<p class="note">{esc(n)}</p>' for n in answer.result.notes]
    widened = answer.result.expansion.notes()
    if widened:
        parts.append(f'<p class="widened">Recherche élargie : {esc(" ; ".join(widened))}</p>')
    if not answer.cards:
        themes = ", ".join(answer.result.nearest_themes) or "aucun"
        parts.append(
            f'<div class="nomatch"><p><strong>{esc(NO_MATCH_WRITTEN)}</strong> '
            f"{esc(missing_sentence(answer.result.unknown_words))}</p>"
            f"<p>Thèmes les plus voisins : {esc(themes)}.</p><p>{esc(answer.question)}</p></div>"
        )
        return "\n".join(parts)
    parts += [card_html(c) for c in answer.cards]
    synthesis = [
        synthesis_html(answer.vigilance),
        synthesis_html(answer.pistes),
    ]
    if any(synthesis):
        parts.append('<div class="synthesis">' + "\n".join(s for s in synthesis if s) + "</div>")
    return "\n".join(parts)


# ---- batch report -------------------------------------------------------------------------


def _summary_table(doc: ReportDoc) -> str:
    extras = doc.extra_columns[:2]  # more columns stay in each need's section
    head = "".join(f"<th>{esc(heading(c))}</th>" for c in ("N°", "Besoin", *extras))
    rows = [
        '<table class="summary needs"><thead><tr>'
        f"{head}<th>Actions les plus proches</th></tr></thead><tbody>"
    ]
    for item in doc.items:
        cells = [
            f'<td><a href="#besoin-{item.number}">{item.number}</a></td>',
            f"<td>{esc(shorten(item.row.text, SUMMARY_NEED_CHARS, keep_lines=True))}</td>",
            *(f"<td>{esc(item.row.value(c))}</td>" for c in extras),
        ]
        matches = [
            f"<li>{esc(c.action.title)} {level_badge(c.hit.level)}</li>" for c in item.answer.cards
        ]
        best = f"<ol>{''.join(matches)}</ol>" if matches else level_badge(None)
        rows.append(f"<tr>{''.join(cells)}<td>{best}</td></tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _intro(doc: ReportDoc) -> str:
    skipped = ", ".join(f"ligne {s.line} ({s.reason})" for s in doc.skipped)
    lines = [
        f"Fichier : <strong>{esc(doc.source)}</strong> (colonne « {esc(doc.column)} ») — "
        f"{len(doc.items)} besoin(s) traité(s), jusqu'à {doc.top} action(s) par besoin.",
        f"Filtres : {esc(doc.filters)}. {esc(doc.masking_note)}",
        "Niveaux : "
        + " ".join(level_badge(m) for m in MatchLevel if m is not MatchLevel.FAR)
        + " — du plus sûr au plus lointain ; les actions éloignées ne sont pas montrées.",
    ]
    if skipped:
        lines.append(f"Lignes ignorées : {esc(skipped)}.")
    lines += [f'<span class="note">{esc(n)}</span>' for n in doc.notes]
    return '<div class="intro">' + "".join(f"<p>{line}</p>" for line in lines) + "</div>"


def need_section(item: ReportItem, extra_columns: Sequence[str], label: str = "Besoin") -> str:
    title = f"{label} {item.number}" + (f" (ligne {item.row.line})" if item.row.line else "")
    extras = [
        f"<strong>{esc(heading(c))}</strong> : {esc(item.row.value(c))}"
        for c in extra_columns
        if item.row.value(c).strip()
    ]
    parts = [
        f'<section class="need" id="besoin-{item.number}">',
        f"<h2>{esc(title)}</h2>",
        f'<blockquote class="text">{esc(item.row.text)}</blockquote>',
    ]
    if extras:
        parts.append(f'<p class="extra">{" · ".join(extras)}</p>')
    parts += [answer_html(item.answer), "</section>"]
    return "\n".join(parts)


def report_html(doc: ReportDoc) -> str:
    body = [
        "<header><h1>Rapport de similarité — actions des centres sociaux</h1>",
        f'<p class="meta">Généré le {esc(doc.created)}</p></header>',
        _intro(doc),
        "<h2>Synthèse</h2>",
        _summary_table(doc),
        *(need_section(item, doc.extra_columns) for item in doc.items),
        "<footer>Rapport produit par le recommandeur des actions des centres sociaux. "
        "Les niveaux de proximité sont indicatifs : lisez les fiches avant de décider.</footer>",
    ]
    return document(f"Rapport de similarité — {doc.source}", body)


def conversation_document(items: Sequence[ReportItem], created: str) -> str:
    """A chat conversation: each question and its answer, one after the other."""
    body = [
        "<header><h1>Conversation — actions des centres sociaux</h1>",
        f'<p class="meta">Enregistrée le {esc(created)}</p></header>',
        *(need_section(item, (), "Question") for item in items),
    ]
    return document("Conversation — actions des centres sociaux", body)


# ---- generic tables (corpus report) -------------------------------------------------------

Section = tuple[str, str, Sequence[str], Sequence[Sequence[object]]]  # title, intro, head, rows


def fr_number(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return fr_number(value)
    if isinstance(value, list | tuple):
        return "<ol>" + "".join(f"<li>{esc(v)}</li>" for v in value) + "</ol>"
    return esc(value)


def sections_document(title: str, intro: Sequence[str], sections: Sequence[Section]) -> str:
    """A page of titled tables; list cells become numbered lists."""
    body = [f"<header><h1>{esc(title)}</h1></header>"]
    body.append('<div class="intro">' + "".join(f"<p>{esc(p)}</p>" for p in intro) + "</div>")
    for name, text, head, rows in sections:
        body += [f"<h2>{esc(name)}</h2>", f'<p class="meta">{esc(text)}</p>']
        if not rows:
            body.append('<p class="missing">Aucun.</p>')
            continue
        cells = "".join(f"<th>{esc(h)}</th>" for h in head)
        lines = "".join(
            "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows
        )
        body.append(
            f'<table class="summary"><thead><tr>{cells}</tr></thead><tbody>{lines}</tbody></table>'
        )
    return document(title, body)
