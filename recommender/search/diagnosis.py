"""What went wrong on a labelled set: metrics per kind of need, match-level precision,
« rien de proche » on needs with and without an answer, and hubness.

`reco eval` prints this report (readable text, or JSON with `--json`). The ranking
metrics themselves are `evaluate.evaluate`, run again on each subset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from recommender.search.calibration import MatchLevel
from recommender.search.evaluate import LabelledQuery, Scores, evaluate

CARDS = 5  # the cards an answer shows: levels and hubness are judged on them


@dataclass(frozen=True)
class Ranked:
    """One query's answer: ranked ids, the « no match » verdict, each hit's level."""

    ids: tuple[str, ...]
    no_match: bool
    levels: tuple[MatchLevel, ...]


DiagnosisRanker = Callable[[str], Ranked]


@dataclass(frozen=True)
class LevelRow:
    level: MatchLevel
    cards: int
    share: float  # of all cards shown
    precision_2: float  # share of these cards graded 2
    precision_1: float  # share graded 1 or 2


@dataclass(frozen=True)
class NoMatchRow:
    out_of_corpus: int  # needs with no relevant action at all
    said_no_match: float  # ... answered « rien de proche » (want high)
    with_grade_2: int  # needs with an action graded 2
    false_no_match: float  # ... answered « rien de proche » all the same (want low)
    accuracy: float  # over all needs: « rien » exactly when nothing is relevant


@dataclass(frozen=True)
class Hubness:
    share: float  # needs whose top 5 holds the most frequent action
    action_id: str
    count: int


@dataclass(frozen=True)
class Diagnosis:
    overall: Scores
    by_kind: dict[str, Scores]
    levels: tuple[LevelRow, ...]
    no_match: NoMatchRow
    hubness: Hubness

    def to_dict(self) -> dict:
        return {
            **self.overall.to_dict(),
            "by_kind": {k: s.to_dict() for k, s in self.by_kind.items()},
            "levels": [_level_dict(row) for row in self.levels],
            "no_match": {k: _round(v) for k, v in vars(self.no_match).items()},
            "hubness": {k: _round(v) for k, v in vars(self.hubness).items()},
        }


def _round(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


def _level_dict(row: LevelRow) -> dict:
    return {k: _round(v.value if isinstance(v, MatchLevel) else v) for k, v in vars(row).items()}


def diagnose(queries: Sequence[LabelledQuery], ranker: DiagnosisRanker) -> Diagnosis:
    answers = {q.query: ranker(q.query) for q in queries}

    def replay(text: str) -> tuple[list[str], bool]:
        return list(answers[text].ids), answers[text].no_match

    kinds = sorted({q.kind for q in queries if q.kind})
    return Diagnosis(
        overall=evaluate(queries, replay),
        by_kind={k: evaluate([q for q in queries if q.kind == k], replay) for k in kinds},
        levels=_levels(queries, answers),
        no_match=_no_match(queries, answers),
        hubness=_hubness([answers[q.query] for q in queries]),
    )


def _levels(queries: Sequence[LabelledQuery], answers: dict[str, Ranked]) -> tuple[LevelRow, ...]:
    """Precision of each level over the cards an answer shows: the top hits that are not
    « éloigné », none after « no match » (as `answers.answer.compose` shows them)."""
    shown = [level for level in MatchLevel if level is not MatchLevel.FAR]
    grades: dict[MatchLevel, list[int]] = {level: [] for level in shown}
    for q in queries:
        answer = answers[q.query]
        if answer.no_match:
            continue
        for action_id, level in list(zip(answer.ids, answer.levels, strict=False))[:CARDS]:
            if level in grades:  # « éloigné » hits are not shown as cards
                grades[level].append(q.relevant.get(action_id, 0))
    total = sum(len(g) for g in grades.values()) or 1
    return tuple(
        LevelRow(
            level,
            len(g),
            len(g) / total,
            sum(x == 2 for x in g) / len(g) if g else 0.0,
            sum(x > 0 for x in g) / len(g) if g else 0.0,
        )
        for level, g in grades.items()
    )


def _no_match(queries: Sequence[LabelledQuery], answers: dict[str, Ranked]) -> NoMatchRow:
    unanswerable = [answers[q.query].no_match for q in queries if not q.relevant]
    with_two = [answers[q.query].no_match for q in queries if 2 in q.relevant.values()]
    right = [answers[q.query].no_match == (not q.relevant) for q in queries]
    return NoMatchRow(
        len(unanswerable),
        _mean(unanswerable),
        len(with_two),
        _mean(with_two),
        _mean(right),
    )


def _mean(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _hubness(answers: Sequence[Ranked]) -> Hubness:
    counts = Counter(a for answer in answers for a in set(answer.ids[:CARDS]))
    if not counts:
        return Hubness(0.0, "", 0)
    action_id, count = counts.most_common(1)[0]
    return Hubness(count / len(answers), action_id, count)


def diagnosis_text(d: Diagnosis, title: Callable[[str], str]) -> str:
    """The report for people: the headline, then one small table per question."""
    o = d.overall
    lines = [
        f"nDCG@10 {o.ndcg10:.3f} · nDCG@5 {o.ndcg5:.3f} · recall@5 {o.recall5:.3f} · "
        f"MRR {o.mrr:.3f} ({o.n} besoins avec réponse)",
        "",
        "Par type de besoin :",
        *(
            f"  {kind:<12} n={s.n:<3} nDCG@10 {s.ndcg10:.3f}  recall@5 {s.recall5:.3f}"
            for kind, s in d.by_kind.items()
        ),
        "",
        "Niveaux (cartes montrées, au plus 5 par besoin) :",
        *(
            f"  {r.level.value:<12} {r.cards:>4} cartes ({r.share:.0%})  "
            f"notées 2 : {r.precision_2:.0%}  notées 1 ou 2 : {r.precision_1:.0%}"
            for r in d.levels
        ),
        "",
        "« Rien de proche » :",
        f"  besoins sans action pertinente : {d.no_match.out_of_corpus}, "
        f"dont {d.no_match.said_no_match:.0%} reçoivent « rien de proche »",
        f"  besoins avec une action notée 2 : {d.no_match.with_grade_2}, "
        f"dont {d.no_match.false_no_match:.0%} reçoivent « rien de proche » à tort",
        f"  justesse sur tous les besoins : {d.no_match.accuracy:.0%}",
        "",
        f"Hubness : {d.hubness.share:.0%} des besoins ont dans leurs 5 premières cartes "
        f"l'action la plus fréquente (« {title(d.hubness.action_id)} », {d.hubness.count} fois)",
    ]
    return "\n".join(lines)
