"""Text helpers shared by every output: the word pattern, escaping, shortening, highlighting."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

# A word: letters and digits in any script, never `_` (used for matching and highlighting).
WORD = re.compile(r"[^\W_]+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|>~-])")


def md(text: str) -> str:
    """Escape text for Markdown *and* HTML: record or user text can never become markup."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text or "", quote=False))


def shorten(text: str, size: int, *, keep_lines: bool = False) -> str:
    """At most `size` characters, cut between words and ended by « … ».

    White space is collapsed to single spaces, unless `keep_lines` (then only the ends are
    stripped and line breaks stay, for blocks shown with their paragraphs).
    """
    text = text.strip() if keep_lines else " ".join(text.split())
    return text if len(text) <= size else text[:size].rsplit(" ", 1)[0].rstrip() + " …"


def highlight(
    text: str,
    spans: Sequence[tuple[int, int]],
    before: str,
    after: str,
    escape: Callable[[str], str] = str,
) -> str:
    """`text` with each span wrapped in `before`/`after`; every piece of text is escaped."""
    out, last = [], 0
    for start, end in spans:
        out += [escape(text[last:start]), before, escape(text[start:end]), after]
        last = end
    out.append(escape(text[last:]))
    return "".join(out)
