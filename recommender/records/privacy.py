"""Personal data masking: e-mail addresses, phone numbers and first names.

On by default everywhere records are shown (chat, trainer tab, reports); trainers may
switch it off with the data owner's consent.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from recommender.records.records import TEXT_FIELDS, Action, fold

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<!\d)(?:\+33\s?|0033\s?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")
EMAIL_MASK = "[e-mail masqué]"
PHONE_MASK = "[téléphone masqué]"
NAME_MASK = "[prénom]"
# Package data (pyproject.toml), installed with the code: masking never depends on the
# working directory, and a missing list is an installation error, never a silent no-op.
DEFAULT_NAMES = Path(str(resources.files("recommender.records").joinpath("prenoms.txt")))
# Fields that never hold personal data (structure names may contain « Pierre » legitimately).
_KEEP = {"structure", "structure_name", "departement", "status", "dimension"}


class NamesMissing(RuntimeError):
    """The first-name list cannot be read: masking would silently let names through."""


@lru_cache(maxsize=4)
def first_names(path: Path = DEFAULT_NAMES) -> frozenset[str]:
    """The first names to mask (folded); a missing or unreadable list raises `NamesMissing`."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NamesMissing(
            f"liste des prénoms illisible ({path}) : le masquage des données personnelles "
            "est impossible, réinstallez le paquet."
        ) from exc
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
    changes: dict[str, Any] = {
        name: mask_text(getattr(action, name), names) for name in TEXT_FIELDS if name not in _KEEP
    }
    changes["partners"] = tuple(mask_text(p, names) for p in action.partners)
    return replace(action, **changes)
