"""Personal data masking: e-mail addresses, phone numbers and first names.

On by default everywhere records are shown (chat, trainer tab, reports); trainers may
switch it off with the data owner's consent.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from recommender.records.records import TEXT_FIELDS, Action, fold

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<!\d)(?:\+33\s?|0033\s?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")
EMAIL_MASK = "[e-mail masqué]"
PHONE_MASK = "[téléphone masqué]"
NAME_MASK = "[prénom]"
DEFAULT_NAMES = Path(__file__).resolve().parents[2] / "data" / "prenoms.txt"
# Fields that never hold personal data (structure names may contain « Pierre » legitimately).
_KEEP = {"structure", "structure_name", "departement", "status", "dimension"}


@lru_cache(maxsize=4)
def first_names(path: Path = DEFAULT_NAMES) -> frozenset[str]:
    if not path.is_file():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(fold(line) for line in lines if line.strip() and not line.startswith("#"))


# A capitalised word, not preceded by « Saint- » / « St » (place names), optionally followed
# by a second capitalised word and an initial (« Jean Claude P »).
_CANDIDATE = re.compile(r"(?<![\w-])(?<!Saint-)(?<!St-)(?<!Ste-)([A-ZÀ-Ý][\w'’-]+)")


_REPEATED_MASK = re.compile(
    rf"{re.escape(NAME_MASK)}(?:[ -]{re.escape(NAME_MASK)})*(?: [A-Z]\.?(?!\w))?"
)


def mask_text(text: str, names: frozenset[str] | None = None) -> str:
    if not text:
        return text
    names = first_names() if names is None else names
    text = EMAIL.sub(EMAIL_MASK, text)
    text = PHONE.sub(PHONE_MASK, text)

    def replace_name(match: re.Match[str]) -> str:
        return NAME_MASK if fold(match.group(1)) in names else match.group(0)

    text = _CANDIDATE.sub(replace_name, text)
    # « [prénom] [prénom] P » (composed name and initial) becomes a single mask.
    return _REPEATED_MASK.sub(NAME_MASK, text)


def mask_action(action: Action) -> Action:
    """A copy of the action with personal data masked in every free-text field."""
    names = first_names()
    changes = {
        name: mask_text(getattr(action, name), names) for name in TEXT_FIELDS if name not in _KEEP
    }
    changes["partners"] = tuple(mask_text(p, names) for p in action.partners)
    return replace(action, **changes)
