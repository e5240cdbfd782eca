"""BENCHMARKS.md: the measured tables (French), regenerated between two markers.

Text outside the markers (analysis written by people) is kept from one run to the next.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

BEGIN = "<!-- bench:début (généré par `make bench`, ne pas modifier à la main) -->"
END = "<!-- bench:fin -->"
DEFAULT_HEAD = "# Performances : mesures côte à côte\n\n"
DEFAULT_TAIL = "\n\n## Ce qui a changé grâce aux mesures\n\n(à compléter)\n"


def number(value: float, column: str = "") -> str:
    """French formatting: decimal comma, precision by magnitude, 3 decimals for ratios."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    if "recall" in column or "part" in column:
        text = f"{value:.3f}" if "recall" in column else f"{100 * value:.1f} %"
    elif abs(value) >= 100:
        text = f"{value:,.0f}".replace(",", " ")
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return text.replace(".", ",")


def cell(value: Any, column: str) -> str:
    text = number(value, column) if isinstance(value, int | float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(columns: list[str], rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "—"), c) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def machine_part(meta: dict[str, Any], sections: list[dict[str, Any]]) -> str:
    m = meta["machine"]
    rows = [
        {"": "processeur", "valeur": f"{m['cpu']} — {m['cores']} cœurs disponibles"},
        {"": "mémoire", "valeur": f"{number(m['memory_gb'])} Go ; {m['system']}"},
        {"": "charge au début (1, 5, 15 min)", "valeur": _load(meta["load_start"])},
        {"": "charge à la fin (1, 5, 15 min)", "valeur": _load(meta["load_end"])},
        {"": "autres processus actifs au début", "valeur": ", ".join(meta["busy"]) or "aucun"},
        {"": "autres processus actifs à la fin", "valeur": ", ".join(meta["busy_end"]) or "aucun"},
        {"": "durée totale", "valeur": f"{number(meta['seconds'] / 60)} min"},
        {"": "mode", "valeur": "rapide (--quick)" if meta["quick"] else "complet"},
    ]
    versions = [{"paquet": k, "version": v} for k, v in meta["versions"].items()]
    per_section = [
        {
            "section": s["title"],
            "durée (s)": s["seconds"],
            "charge à la fin (1 min)": s.get("load_end", "—"),
        }
        for s in sections
    ]
    return "\n\n".join(
        [
            f"## Machine et versions\n\nMesures du {meta['date']}.",
            table(["", "valeur"], rows),
            table(["paquet", "version"], versions),
            table(["section", "durée (s)", "charge à la fin (1 min)"], per_section),
        ]
    )


def _load(values: list[float]) -> str:
    return " / ".join(f"{float(v):.2f}".replace(".", ",") for v in values)


# Section numbers follow issue 6: 1 latency (+ its profile), 2 build, 3 scale, 4 app, 5 batch.
NUMBERS = {
    "latency": "1",
    "profile": "1 bis",
    "build": "2",
    "scale": "3",
    "lexical": "3 bis",
    "app": "4",
    "batch": "5",
    "corpus": "6",
}


def section_part(section: dict[str, Any]) -> str:
    number_ = NUMBERS.get(section["key"], "·")
    parts = [f"## {number_}. {section['title']}", table(section["columns"], section["rows"])]
    if section["notes"]:
        parts.append("\n".join(f"- {note}" for note in section["notes"]))
    return "\n\n".join(parts)


def generated(results: dict[str, Any]) -> str:
    meta = results["meta"]
    body = [machine_part(meta, results["sections"])]
    body.append(
        "La charge moyenne compte aussi le banc lui-même (1 à 2 cœurs occupés pendant les "
        "mesures) ; la ligne « autres processus actifs » dit si d'autres calculs tournaient."
    )
    busy = meta["busy"] or meta["busy_end"]
    if busy or meta["load_start"][0] >= 0.5 * meta["machine"]["cores"]:
        body.append(
            "> **Attention** : la machine n'était pas au repos (voir la charge et les autres "
            "processus ci-dessus) ; les durées absolues sont pessimistes, les comparaisons "
            "côte à côte (mesurées pendant le même passage) restent valables."
        )
    body += [section_part(s) for s in results["sections"]]
    return "\n\n".join([BEGIN, *body, END])


def write(results: dict[str, Any], path: Path) -> None:
    """Replace the generated part of `path`, keeping what people wrote around it."""
    replace_generated(path, generated(results))


def replace_generated(
    path: Path,
    body: str,
    begin: str = BEGIN,
    end: str = END,
    head: str = DEFAULT_HEAD,
    tail: str = DEFAULT_TAIL,
) -> None:
    """Write `body` (which starts with `begin` and ends with `end`) between the markers of
    `path`; text outside them is kept, or `head` and `tail` for a new file."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        tail = rest.split(end, 1)[1]
    path.write_text(head + body + tail, encoding="utf-8")
