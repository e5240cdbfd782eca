"""Self-contained HTML for reports and chat downloads: inline CSS, no script, no link out.

All record and user text goes through `esc` (a need containing `<script>` stays text).
Printing (or « Enregistrer en PDF ») starts each need on a new page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from recommender.answers.answer import Answer, Card
from recommender.answers.synthesis import Group
from recommender.answers.view import NO_MATCH, NO_MATCH_WRITTEN, NOT_PROVIDED
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

CSS = """
:root { --ink:#1f2933; --soft:#52606d; --line:#d9e2ec; --accent:#2f5d62; --bg:#f7f9fb; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1100px; padding: 24px 28px; line-height: 1.45; font-size: 15px; }
h1 { color: var(--accent); font-size: 1.7em; margin: 0 0 .3em; }
h2 { color: var(--accent); font-size: 1.35em; margin: 0 0 .4em; }
h3 { font-size: 1.1em; margin: 0 0 .3em; }
h4 { font-size: 1em; margin: .9em 0 .3em; color: var(--accent); }
.meta { color: var(--soft); margin: .1em 0; }
.intro { background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 16px; margin: 12px 0 20px; }
.intro p { margin: .25em 0; }
table.summary { border-collapse: collapse; width: 100%; font-size: .92em; margin-bottom: 24px; }
table.summary th, table.summary td { border: 1px solid var(--line); padding: 6px 8px;
  vertical-align: top; text-align: left; }
table.summary th { background: var(--accent); color: #fff; }
table.summary tr:nth-child(even) td { background: var(--bg); }
table.summary ol { margin: 0; padding-left: 1.3em; }
table.needs td:last-child { width: 42%; }
table.summary a { color: var(--accent); font-weight: bold; }
.need { border-top: 3px solid var(--accent); padding-top: 14px; margin-top: 30px; }
blockquote.text { margin: .4em 0 .8em; padding: 8px 14px; background: var(--bg);
  border-left: 4px solid var(--accent); white-space: pre-line; }
.extra { color: var(--soft); margin: .2em 0 .6em; }
.understood { font-style: italic; color: var(--soft); }
.note { color: #8a5a00; font-size: .92em; }
.widened { color: var(--soft); font-size: .85em; margin: .2em 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px;
  margin: 12px 0; break-inside: avoid; page-break-inside: avoid; }
.why { background: #fffbea; border-left: 3px solid #e0b000; padding: 6px 10px; margin: .5em 0; }
.label { font-weight: bold; }
.block { white-space: pre-line; margin: .15em 0 .6em; }
.missing { color: var(--soft); font-style: italic; }
mark { background: #ffe58f; padding: 0 1px; }
.lv { display: inline-block; border-radius: 10px; padding: 1px 9px; font-size: .82em;
  font-weight: bold; white-space: nowrap; border: 1px solid transparent; }
.lv-vc { background: #d3f2dc; color: #14532d; border-color: #7bc68f; }
.lv-c { background: #dbeafe; color: #1e3a8a; border-color: #93b4e8; }
.lv-e { background: #fff1d6; color: #7a4b00; border-color: #e9b65c; }
.lv-f, .lv-none { background: #eceff1; color: #52606d; border-color: #c5cdd3; }
.synthesis { background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  padding: 4px 16px 10px; margin-top: 14px; break-inside: avoid; }
.synthesis ul { margin: .2em 0 .5em; padding-left: 1.3em; }
.refs { color: var(--soft); font-size: .88em; }
.nomatch { border: 1px dashed #c5cdd3; border-radius: 6px; padding: 10px 16px; }
footer { color: var(--soft); font-size: .85em; margin-top: 30px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { font-size: 10.5pt; max-width: none; padding: 0; }
  .need { break-before: page; page-break-before: always; border-top: none; margin-top: 0; }
  .card, .synthesis { break-inside: auto; page-break-inside: auto; }
  h2, h3, h4, .label { break-after: avoid; page-break-after: avoid; }
  .why, li, table.summary tr { break-inside: avoid; page-break-inside: avoid; }
  table.summary thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
"""


def esc(text: object) -> str:
    return html.escape(str(text or ""), quote=True)


def document(title: str, body: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
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


def groups_html(title: str, groups: Sequence[Group]) -> str:
    if not groups:
        return ""
    parts = [f"<h4>{esc(title)}</h4>"]
    for group in groups:
        parts.append(f'<div class="label">{esc(group.theme)}</div><ul>')
        for point in group.points:
            refs = ", ".join(str(s) for s in point.sources)
            parts.append(f'<li>{esc(point.text)} <span class="refs">(fiche {refs})</span></li>')
        parts.append("</ul>")
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
            f'<div class="nomatch"><p><strong>{esc(NO_MATCH_WRITTEN)}</strong></p>'
            f"<p>Thèmes les plus voisins : {esc(themes)}.</p><p>{esc(answer.question)}</p></div>"
        )
        return "\n".join(parts)
    parts += [card_html(c) for c in answer.cards]
    synthesis = [
        groups_html("Points de vigilance (limites rencontrées ailleurs)", answer.vigilance),
        groups_html("Pistes (perspectives des autres centres)", answer.pistes),
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
