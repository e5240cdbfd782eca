"""Hybrid search: French BM25 + dense chunks, fused, collapsed to one hit per action."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice

import numpy as np

from embeddings.base import Encoder, TextKind
from recommender.index import vector_index
from recommender.index.analysis import coverage_table
from recommender.index.chunks import Chunk
from recommender.index.directory import LoadedIndex
from recommender.index.hubness import (
    CHUNK_CANDIDATES,
    DENSE_POOL,
    pool_by_action,
)
from recommender.index.lexical import analyze
from recommender.records.records import Action
from recommender.search.calibration import Calibration, MatchLevel, default_calibration
from recommender.search.filters import NO_FILTERS, Filters, facet_counts, resolve
from recommender.search.fusion import Channel, rrf_fusion, score_fusion
from recommender.search.glossary import EMPTY, Expansion, Glossary
from recommender.search.novelty import RecordWords, idf_weights, novelty
from recommender.search.outside import need_features
from recommender.search.passages import Passage, best_chunk, make_passage, query_stems

MAX_QUERY_CHARS = 2000


class Fusion(StrEnum):
    RRF = "rrf"  # reciprocal rank fusion: robust, ignores score scales
    SCORE = "score"  # weighted sum of per-query standardised scores


@dataclass(frozen=True)
class SearchConfig:
    """Defaults chosen on dev splits only (docs/EVALUATION.md).

    `lexical_weight` and `hub_weight` (dense weight 1) are the weights a logistic model
    learned on the dev needs of data/eval/blind.json and data/eval/queries.json with the
    default encoder (`python -m bench.tune_ranking data/eval/blind.json
    data/eval/queries.json`): 0.36 and 0.14 with the encoder adapted on records and written
    needs, cross-validated nDCG@10 0.663 vs 0.622 for BM25 + dense with equal weights.
    """

    fusion: Fusion = Fusion.SCORE
    rrf_k: float = 60.0
    lexical_weight: float = 0.36
    dense_weights: tuple[float, ...] | None = None  # one per encoder; None: 1.0 each
    expansion_weight: float = 0.5  # glossary words count half as much as the user's own
    hub_weight: float = 0.14  # per dense channel: its hub prior (index/hubness.py) subtracted
    chunk_candidates: int = CHUNK_CANDIDATES
    dense_pool: int = DENSE_POOL  # chunks averaged per action
    mmr_lambda: float | None = None  # None: no diversity re-ranking


@dataclass(frozen=True)
class Hit:
    action: Action
    score: float
    probability: float
    level: MatchLevel
    passage: Passage
    features: tuple[float, ...]


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    no_match: bool
    notes: tuple[str, ...] = ()
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    expansion: Expansion = field(default_factory=lambda: Expansion(()))
    nearest_themes: tuple[str, ...] = ()
    suggestion: str = ""  # with no match: what to add to the description
    unknown_words: tuple[str, ...] = ()  # words of the need that no record contains
    unknown_share: float = 0.0  # their IDF-weighted share of the need (search/novelty.py)
    need_features: tuple[float, ...] = ()  # the « rien de proche » detector's inputs (outside.py)


@dataclass(frozen=True)
class _Evidence:
    """Per-action scores of one query: fused score, features, best chunk per action."""

    fused: np.ndarray
    features: np.ndarray
    dense_chunk_scores: list[dict[int, float]]


class Recommender:
    def __init__(
        self,
        index: LoadedIndex,
        encoders: Sequence[Encoder],
        glossary: Glossary = EMPTY,
        config: SearchConfig | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.index = index
        self.encoders = tuple(encoders)
        self.glossary = glossary
        self.config = config or SearchConfig()
        ids = [e.id for e in self.encoders]
        self.calibration = (
            calibration
            if calibration and list(calibration.encoder_ids) == ids
            else default_calibration(ids)
        )
        self.actions = index.actions
        self._chunk_owner = index.chunk_owner
        self._position = {a.id: i for i, a in enumerate(self.actions)}
        self._chunks_of: list[list[int]] = [[] for _ in self.actions]
        for row, owner in enumerate(self._chunk_owner):
            self._chunks_of[owner].append(row)
        # Built at index time (coverage.npz); computed here only for an older index.
        self._table = index.stems or coverage_table(self.actions)
        self._df = self._table.df
        self._chunk_stems: dict[int, frozenset[str]] = {}  # analysed when first shown
        # typos are not unknown words
        self._record_words = RecordWords(self.actions, index.record_words)

    # ---- evidence -------------------------------------------------------------------
    def _lexical(self, query: str, expansion: Expansion) -> np.ndarray:
        scores = self.index.lexical.scores(query)
        if expansion.entries:
            scores = scores + self.config.expansion_weight * self.index.lexical.scores(
                expansion.extra_text
            )
        return scores

    def _dense(self, vectors: Sequence[np.ndarray]) -> tuple[np.ndarray, list[dict[int, float]]]:
        """Per channel and action: mean cosine of its best `dense_pool` chunks (-1: none)."""
        pooled = np.full((len(vectors), len(self.actions)), -1.0, dtype=np.float32)
        chunk_scores: list[dict[int, float]] = []
        k = min(self.config.chunk_candidates, len(self.index.chunks))
        for c, (channel, vector) in enumerate(zip(self.index.dense, vectors, strict=True)):
            hits = vector_index.search(channel.index, vector, k)[0]
            pooled[c] = pool_by_action(
                hits.rows, hits.scores, self._chunk_owner, len(self.actions), self.config.dense_pool
            )
            chunk_scores.append(dict(zip(hits.rows.tolist(), hits.scores.tolist(), strict=True)))
        return pooled, chunk_scores

    def _coverage(self, stems: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        """Share of the query's words found in each action, plain and IDF-weighted.

        A word no action contains (« nager ») weighs the most: when the key word of a need
        is absent everywhere, nothing can be very close (honest « no match »).
        """
        n = len(self.actions)
        if not stems:
            return np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32)
        idf = idf_weights(stems, self._df, n)
        total = sum(idf.values()) or 1.0
        counts = np.zeros(n, dtype=np.int64)
        weights = np.zeros(n, dtype=np.float64)
        for stem in stems:  # only the actions having one of the need's words are touched
            rows = self._table.postings.get(stem)
            if rows is not None:
                counts[rows] += 1
                weights[rows] += idf[stem]
        plain = counts / len(stems)
        return plain.astype(np.float32), (weights / total).astype(np.float32)

    def score_channels(self, lexical: np.ndarray, dense: np.ndarray) -> list[Channel]:
        """The standardised evidence fused by score: BM25, each dense channel, each hub
        prior (subtracted). `bench.tune_ranking` fits the weights on these same inputs."""
        weights = self.config.dense_weights or (1.0,) * len(dense)
        # A BM25 zero is a real score (no shared word), not a missing one.
        everywhere = np.ones(len(lexical), dtype=bool)
        return [
            Channel("bm25", lexical, self.config.lexical_weight, everywhere),
            *(
                Channel(f"dense{c}", row, w, row > -1)
                for c, (row, w) in enumerate(zip(dense, weights, strict=True))
            ),
            *(
                Channel(f"hub{c}", channel.hub, -self.config.hub_weight * w, everywhere)
                for c, (channel, w) in enumerate(zip(self.index.dense, weights, strict=True))
            ),
        ]

    def _fuse(self, lexical: np.ndarray, dense: np.ndarray) -> np.ndarray:
        if self.config.fusion is Fusion.SCORE:
            return score_fusion(self.score_channels(lexical, dense))
        weights = self.config.dense_weights or (1.0,) * len(dense)
        channels = [(lexical, self.config.lexical_weight, lexical > 0)]
        channels += [(row, w, row > -1) for row, w in zip(dense, weights, strict=True)]
        return rrf_fusion(channels, self.config.rrf_k)

    def evidence(self, text: str, expansion: Expansion, vectors: Sequence[np.ndarray]) -> _Evidence:
        lexical = self._lexical(text, expansion)
        dense, chunk_scores = self._dense(vectors)
        fused = self._fuse(lexical, dense)
        coverage, weighted = self._coverage(query_stems(text))
        top = fused.max() if fused.size and fused.max() > 0 else 1.0
        features = np.column_stack([*dense, coverage, fused / top, weighted]).astype(np.float64)
        return _Evidence(fused, features, chunk_scores)

    # ---- queries ----------------------------------------------------------------------
    def encode_queries(self, texts: Sequence[str]) -> list[list[np.ndarray]]:
        """Query vectors per text, per encoder (batched: one call per encoder)."""
        per_encoder = [e.encode(list(texts), TextKind.QUERY) for e in self.encoders]
        return [[m[i : i + 1] for m in per_encoder] for i in range(len(texts))]

    def _passage(self, position: int, ev: _Evidence, stems: frozenset[str]) -> Passage:
        rows = self._chunks_of[position]
        chunks: list[Chunk] = [self.index.chunks[r] for r in rows]
        dense = [sum(cs.get(r, 0.0) for cs in ev.dense_chunk_scores) for r in rows]
        chunk_stems = [self._stems_of_chunk(r) for r in rows]
        return make_passage(best_chunk(chunks, dense, chunk_stems, stems), stems)

    def _stems_of_chunk(self, row: int) -> frozenset[str]:
        stems = self._chunk_stems.get(row)
        if stems is None:
            stems = self._chunk_stems[row] = frozenset(analyze(self.index.chunks[row].text))
        return stems

    def rank(
        self,
        text: str,
        vectors: Sequence[np.ndarray],
        filters: Filters = NO_FILTERS,
        top: int = 5,
        exclude: frozenset[str] = frozenset(),
    ) -> SearchResult:
        """Rank actions for a prepared query (vectors already computed)."""
        notes: list[str] = []
        resolved, filter_notes = resolve(filters, self.actions)
        notes += filter_notes
        expansion = self.glossary.expand(text)
        ev = self.evidence(text, expansion, vectors)
        probability = self.calibration.probability(ev.features)
        ranked = np.argsort(-ev.fused, kind="stable")
        if exclude:
            gone = [self._position[a] for a in exclude if a in self._position]
            ranked = ranked[~np.isin(ranked, gone)]
        order = ranked.tolist()
        plausible = ranked[probability[ranked] >= self.calibration.explore].tolist()
        facets = facet_counts(self.actions[i] for i in (plausible or order[:20]))
        wanted = max(0, top) * (4 if self.config.mmr_lambda is not None else 1)
        kept = (  # only as many matches as are shown (MMR picks among 4 x top)
            order
            if resolved.is_empty()
            else list(islice((i for i in order if resolved.matches(self.actions[i])), wanted))
        )
        if self.config.mmr_lambda is not None:
            kept = self._mmr(kept, ev, top)
        stems = query_stems(text, expansion.extra_text)
        hits = tuple(self._hit(i, ev, probability, stems) for i in kept[: max(0, top)])
        new = novelty(text, self._df, len(self.actions), self._record_words.near)
        need = need_features(new.share, ev.dense_chunk_scores)
        themes = _themes(self.actions[i] for i in order[:5])
        return SearchResult(
            text,
            hits,
            self._no_match(hits, need),
            tuple(notes),
            facets,
            expansion,
            themes,
            unknown_words=new.words,
            unknown_share=round(new.share, 4),
            need_features=need,
        )

    def _no_match(self, hits: Sequence[Hit], need: tuple[float, ...]) -> bool:
        """Nothing close: no hit, the need looks out of corpus, or even the first hit is far."""
        if not hits:
            return True
        return self.calibration.nothing_close(need) or hits[0].level is MatchLevel.FAR

    def _hit(self, i: int, ev: _Evidence, probability: np.ndarray, stems) -> Hit:
        p = float(probability[i])
        return Hit(
            action=self.actions[i],
            score=round(float(ev.fused[i]), 6),
            probability=round(p, 4),
            level=self.calibration.level(p),
            passage=self._passage(i, ev, stems),
            features=tuple(round(float(f), 4) for f in ev.features[i]),
        )

    def _mmr(self, order: list[int], ev: _Evidence, top: int) -> list[int]:
        """Maximal marginal relevance on the actions' keyword/stem overlap."""
        lam = self.config.mmr_lambda or 1.0
        pool, chosen = order[: top * 4], list[int]()
        relevance = ev.fused / (ev.fused.max() or 1.0)
        while pool and len(chosen) < top:

            def gain(i: int) -> float:
                similar = max(
                    (_jaccard(self._table.row(i), self._table.row(j)) for j in chosen), default=0
                )
                return lam * relevance[i] - (1 - lam) * similar

            best = max(pool, key=gain)
            chosen.append(best)
            pool.remove(best)
        return chosen + [i for i in order if i not in chosen]


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _themes(actions) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for action in actions:
        for keyword in action.keywords:
            seen.setdefault(keyword, None)
    return tuple(list(seen)[:6])
