"""Training pairs for domain adaptation, built from the records (pure functions).

Each pair is (query side, passage side): why an action was set up, what it does, its tags,
its limits or its title, paired with the action's summary; and needs written for an action
by sessions that read the records and nothing else (data/adapt/, WrittenNeed), paired with
its summary the same way. Batches never hold two pairs of the same action, so an action's
own summary is never used as a negative.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from recommender.index.chunks import ChunkField, field_texts
from recommender.records.records import Action

MIN_TEXT_CHARS = 40  # shorter free texts (« à compléter », « Poursuite en 2019 ») say little
MIN_TEXT_WORDS = 6
MIN_TITLE_CHARS = 5
MAX_QUERY_CHARS = 400  # user needs are short: query sides are excerpts, not whole fields
MAX_NEED_CHARS = 1000  # a written need is kept whole up to this length
IGNORED_TAGS = frozenset({"autre"})


class PairKind(StrEnum):
    """Which part of a record gives the query side of a pair."""

    REASONS = "raisons"
    DESCRIPTION = "description"
    TAGS = "etiquettes"
    LIMITS = "limites"
    TITLE = "titre"
    NEED = "besoins"  # a need written for the action (data/adapt/needs.json)


ALL_KINDS: tuple[PairKind, ...] = tuple(PairKind)
RECORD_KINDS: tuple[PairKind, ...] = tuple(k for k in PairKind if k is not PairKind.NEED)


@dataclass(frozen=True)
class Pair:
    action_id: str
    kind: PairKind
    query: str
    passage: str


@dataclass(frozen=True)
class WrittenNeed:
    """A need as staff would type it, written for one action by a session that read the
    records only (never an evaluation set nor a ranker's output)."""

    action_id: str
    kind: str  # narrative, constat, short or hard, as the writer was asked
    text: str


def load_written_needs(path: Path) -> tuple[WrittenNeed, ...]:
    """The written needs of `path`, none when the file is absent."""
    if not path.is_file():
        return ()
    rows = json.loads(path.read_text(encoding="utf-8"))
    return tuple(WrittenNeed(r["action"], r["kind"], r["text"]) for r in rows)


_BREAK = re.compile(r"(?<=[.!?;])\s+|\n+")


def clean(text: str) -> str:
    """Collapse white space (line breaks included) into single spaces."""
    return " ".join(text.split())


def is_content(text: str, min_chars: int = MIN_TEXT_CHARS) -> bool:
    """True for a text that says something (not a placeholder like « à compléter »)."""
    return len(text) >= min_chars and len(text.split()) >= MIN_TEXT_WORDS


def excerpt(text: str, rng: random.Random, max_chars: int = MAX_QUERY_CHARS) -> str:
    """A run of whole sentences of `text`, from a random start, at most `max_chars` long.

    Falls back to the beginning (cut at a word boundary) when no run says enough.
    """
    sentences = [clean(s) for s in _BREAK.split(text) if clean(s)]
    whole = " ".join(sentences)
    if len(whole) <= max_chars:
        return whole
    runs = []
    for start in range(len(sentences)):
        run = sentences[start]
        for sentence in sentences[start + 1 :]:
            if len(run) + 1 + len(sentence) > max_chars:
                break
            run = f"{run} {sentence}"
        if len(run) <= max_chars and is_content(run, max(MIN_TEXT_CHARS, max_chars // 4)):
            runs.append(run)
    if runs:
        return rng.choice(runs)
    return whole[:max_chars].rsplit(" ", 1)[0]


def _tags(action: Action) -> str:
    tags = [*action.keywords, *action.public, *action.territory]
    kept = [clean(t) for t in tags if clean(t) and clean(t).casefold() not in IGNORED_TAGS]
    return " ; ".join(dict.fromkeys(kept)) if len(kept) >= 2 else ""


def _query_side(action: Action, kind: PairKind, rng: random.Random) -> str:
    """The query side of one pair kind, or "" when the record's field says too little."""
    if kind is PairKind.TITLE:
        title = clean(action.title)
        return title if len(title) >= MIN_TITLE_CHARS else ""
    if kind is PairKind.TAGS:
        return _tags(action)
    source = {
        PairKind.REASONS: action.experience,
        PairKind.DESCRIPTION: action.description,
        PairKind.LIMITS: action.limits,
    }[kind]
    text = excerpt(source, rng) if is_content(clean(source)) else ""
    return text if is_content(text) else ""


def _passage_side(action: Action, kind: PairKind) -> str:
    """The passage side: the summary chunk as indexed, or a variant without the query's
    own words (no tags for a tags query, no title for a title query)."""
    summary = clean(action.summary)
    if not is_content(summary):
        return ""
    if kind is PairKind.TITLE:
        return summary
    if kind in (PairKind.TAGS, PairKind.LIMITS):
        return f"{clean(action.title)}\n{summary}"
    return field_texts(action)[ChunkField.SUMMARY]


def pairs_of(action: Action, *, seed: int = 0, kinds: Iterable[PairKind] = ALL_KINDS) -> list[Pair]:
    """The training pairs one action gives (at most one per kind)."""
    pairs = []
    for kind in (k for k in kinds if k in RECORD_KINDS):  # written needs: need_pairs
        rng = random.Random(f"{seed}:{action.id}:{kind.value}")  # independent of file order
        query, passage = _query_side(action, kind, rng), _passage_side(action, kind)
        if query and passage and clean(query) not in clean(passage):
            pairs.append(Pair(action.id, kind, query, passage))
    return pairs


def need_pairs(actions: Iterable[Action], needs: Iterable[WrittenNeed]) -> list[Pair]:
    """A pair per written need whose action is among `actions` and has a summary."""
    by_id = {a.id: a for a in actions}
    pairs = []
    for need in needs:
        action = by_id.get(need.action_id)
        passage = _passage_side(action, PairKind.NEED) if action else ""
        text = clean(need.text)
        if passage and text:
            pairs.append(Pair(need.action_id, PairKind.NEED, text[:MAX_NEED_CHARS], passage))
    return pairs


def build_pairs(
    actions: Sequence[Action],
    *,
    seed: int = 0,
    kinds: Iterable[PairKind] = ALL_KINDS,
    needs: Iterable[WrittenNeed] = (),
) -> list[Pair]:
    """All training pairs of the records, then of the written needs (when NEED is among
    `kinds`), without repeated (query, passage) couples."""
    kinds = tuple(kinds)
    found = [p for action in actions for p in pairs_of(action, seed=seed, kinds=kinds)]
    if PairKind.NEED in kinds:
        found += need_pairs(actions, needs)
    seen: set[tuple[str, str]] = set()
    pairs = []
    for pair in found:
        if (pair.query, pair.passage) not in seen:
            seen.add((pair.query, pair.passage))
            pairs.append(pair)
    return pairs


def make_batches(pairs: Sequence[Pair], batch_size: int, rng: random.Random) -> list[list[Pair]]:
    """Shuffled batches in which no action and no text appears twice (no false negatives).

    Batches of a single pair (no negative at all) are dropped.
    """
    pending = list(pairs)
    rng.shuffle(pending)
    batches = []
    while pending:
        batch: list[Pair] = []
        used: set[str] = set()
        rest = []
        for pair in pending:
            keys = {pair.action_id, pair.query, pair.passage}
            if len(batch) < batch_size and not keys & used:
                batch.append(pair)
                used |= keys
            else:
                rest.append(pair)
        batches.append(batch)
        pending = rest
    rng.shuffle(batches)
    return [b for b in batches if len(b) >= 2]
