"""Domain adaptation of the local sentence-transformers model on the records themselves.

Training pairs (query side, passage side) come only from `data/actions.jsonl`: why an action
was set up, what it does, its tags, its limits or its title, each paired with the action's
summary. The evaluation queries (`data/eval/`) are never read here.

Training uses in-batch negatives (MultipleNegativesRankingLoss). A batch never holds two
pairs of the same action, so an action's own summary is never used as a negative. Each side
gets the prompt search gives it: queries are encoded as QUERY, chunks as PASSAGE.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.core.config import Settings
from recommender.core.storage import atomic_directory
from recommender.index.chunks import ChunkField, field_texts
from recommender.records.records import Action, load_actions

if TYPE_CHECKING:  # torch and sentence-transformers load only when training
    from sentence_transformers import SentenceTransformer

ADAPTED_SUFFIX = "-adapted"
MIN_TEXT_CHARS = 40  # shorter free texts (« à compléter », « Poursuite en 2019 ») say little
MIN_TEXT_WORDS = 6
MIN_TITLE_CHARS = 5
MAX_QUERY_CHARS = 400  # user needs are short: query sides are excerpts, not whole fields
IGNORED_TAGS = frozenset({"autre"})
DEFAULT_EPOCHS = 1
DEFAULT_BATCH_SIZE = 16
DEFAULT_LEARNING_RATE = 1e-4  # chosen on the dev split (docs/ADAPTATION.md)
DEFAULT_MAX_SEQ_LENGTH = 256

Progress = Callable[[int, int], None]


class AdaptError(RuntimeError):
    """The adaptation cannot run; the French message says what to do."""


class PairKind(StrEnum):
    """Which part of a record gives the query side of a pair."""

    REASONS = "raisons"
    DESCRIPTION = "description"
    TAGS = "etiquettes"
    LIMITS = "limites"
    TITLE = "titre"


ALL_KINDS: tuple[PairKind, ...] = tuple(PairKind)


@dataclass(frozen=True)
class Pair:
    action_id: str
    kind: PairKind
    query: str
    passage: str


@dataclass(frozen=True)
class AdaptResult:
    target: Path
    n_pairs: int
    steps: int
    epochs: int
    seconds: float
    final_loss: float


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = DEFAULT_BATCH_SIZE
    learning_rate: float = DEFAULT_LEARNING_RATE
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH
    seed: int = 0
    kinds: tuple[PairKind, ...] = ALL_KINDS


# ---- pairs (pure functions) -------------------------------------------------------------

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
    for kind in kinds:
        rng = random.Random(f"{seed}:{action.id}:{kind.value}")  # independent of file order
        query, passage = _query_side(action, kind, rng), _passage_side(action, kind)
        if query and passage and clean(query) not in clean(passage):
            pairs.append(Pair(action.id, kind, query, passage))
    return pairs


def build_pairs(
    actions: Iterable[Action], *, seed: int = 0, kinds: Iterable[PairKind] = ALL_KINDS
) -> list[Pair]:
    """All training pairs of the records, without repeated (query, passage) couples."""
    kinds = tuple(kinds)
    seen: set[tuple[str, str]] = set()
    pairs = []
    for action in actions:
        for pair in pairs_of(action, seed=seed, kinds=kinds):
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


# ---- training ---------------------------------------------------------------------------


def _check_paths(base: Path, target: Path) -> None:
    if not (base / "modules.json").is_file():
        raise AdaptError(
            f"le modèle de base {base} n'existe pas (ou n'est pas un dossier "
            "sentence-transformers) : lancez `reco model build`"
        )
    if target.resolve() == base.resolve():
        raise AdaptError(
            f"le dossier cible {target} est le modèle de base : choisissez un autre --target"
        )


def _load_model(base: Path) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no « Loading weights » bar over ours
    try:
        model = SentenceTransformer(str(base), device="cpu")
    except (OSError, ValueError) as exc:
        raise AdaptError(
            f"le modèle {base} est illisible ({exc}) : lancez `reco model build`"
        ) from exc
    # The word embeddings (a 250 000-word vocabulary) stay as they are: the records use a
    # tiny part of it, and the optimiser would otherwise carry most of the parameters.
    transformer: Any = model[0]  # sentence-transformers' Transformer module
    transformer.auto_model.get_input_embeddings().requires_grad_(False)
    return model


def _prompts(model: SentenceTransformer) -> tuple[str, str]:
    """Query and passage prompts, chosen as embeddings/st.py chooses them when searching."""
    prompts = getattr(model, "prompts", {}) or {}
    return prompts.get("query", ""), prompts.get("passage", prompts.get("document", ""))


def _train(
    model: SentenceTransformer,
    schedule: list[list[Pair]],
    train: TrainSettings,
    progress: Progress | None,
) -> float:
    """Run the optimiser over the batches; return the mean loss of the last batches."""
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(train.seed)
    loss_fn = MultipleNegativesRankingLoss(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=train.learning_rate, weight_decay=0.01)
    warmup = math.ceil(0.1 * len(schedule))
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, len(schedule))
    query_prompt, passage_prompt = _prompts(model)
    full_length, losses = model.max_seq_length, []
    model.max_seq_length = train.max_seq_length
    model.train()
    try:
        for step, batch in enumerate(schedule, start=1):
            features = [
                model.preprocess([p.query for p in batch], prompt=query_prompt),
                model.preprocess([p.passage for p in batch], prompt=passage_prompt),
            ]
            loss = loss_fn(features, None)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(float(loss.detach()))
            if progress:
                progress(step, len(schedule))
    finally:
        model.max_seq_length = full_length  # search windows texts with the saved length
        model.eval()
    tail = losses[-max(1, len(losses) // 5) :]
    return sum(tail) / len(tail)


def adapt_model(
    base: Path,
    target: Path,
    actions: Sequence[Action],
    *,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    seed: int = 0,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    kinds: Sequence[PairKind] = ALL_KINDS,
    progress: Progress | None = None,
) -> AdaptResult:
    """Fine-tune `base` on pairs built from `actions`; write the model to `target` atomically.

    A failure (or Ctrl-C) leaves any previous `target` untouched.
    """
    train = TrainSettings(epochs, batch_size, learning_rate, max_seq_length, seed, tuple(kinds))
    _check_settings(train)
    _check_paths(base, target)
    pairs = build_pairs(actions, seed=seed, kinds=train.kinds)
    rng = random.Random(seed)
    schedule = [b for _ in range(epochs) for b in make_batches(pairs, batch_size, rng)]
    if not schedule:
        raise AdaptError(
            f"trop peu de paires ({len(pairs)}) pour former un lot : il faut au moins deux "
            "actions dont le résumé et un autre champ sont remplis"
        )
    started = time.perf_counter()
    model = _load_model(base)
    final_loss = _train(model, schedule, train, progress)
    with atomic_directory(target) as work:
        model.save(str(work), create_model_card=False)
        _write_provenance(work / "adapt.json", base, train, len(pairs), len(schedule))
    seconds = time.perf_counter() - started
    return AdaptResult(target, len(pairs), len(schedule), epochs, seconds, final_loss)


def _check_settings(train: TrainSettings) -> None:
    if train.epochs < 1:
        raise AdaptError("--epochs doit valoir au moins 1")
    if train.batch_size < 2:
        raise AdaptError("la taille de lot doit valoir au moins 2 (négatifs dans le lot)")
    if not train.kinds:
        raise AdaptError("aucun type de paire choisi")


def _write_provenance(
    path: Path, base: Path, train: TrainSettings, n_pairs: int, steps: int
) -> None:
    """Record how the folder was made (its content also changes the encoder id)."""
    data: dict[str, Any] = {
        "base": str(base),
        "loss": "MultipleNegativesRankingLoss",
        "n_pairs": n_pairs,
        "steps": steps,
        **asdict(train),
        "kinds": [k.value for k in train.kinds],
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# ---- command ------------------------------------------------------------------------------


def default_base(settings: Settings) -> Path:
    return settings.models_dir / "multilingual-e5-small"


def default_target(base: Path) -> Path:
    return base.with_name(base.name + ADAPTED_SUFFIX)


def _records(path: Path) -> list[Action]:
    if not path.is_file():
        raise AdaptError(f"{path} introuvable : lancez `reco ingest data/raw`")
    try:
        actions = load_actions(path)
    except ValueError as exc:
        raise AdaptError(str(exc)) from exc
    if not actions:
        raise AdaptError(f"{path} ne contient aucune action : lancez `reco ingest data/raw`")
    return actions


def run_adapt(
    settings: Settings,
    base: Path | None = None,
    target: Path | None = None,
    epochs: int | None = None,
    show_progress: bool = True,
) -> str:
    """`reco model adapt`: train with a progress bar; return the closing line (French)."""
    from tqdm import tqdm

    base = base or default_base(settings)
    target = target or default_target(base)
    actions = _records(settings.data_path)
    bars: list[tqdm] = []  # opened on the first batch: no empty bar before an error

    def progress(step: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="Adaptation", unit="lot", disable=not show_progress))
        bars[0].update(step - bars[0].n)

    try:
        epochs = DEFAULT_EPOCHS if epochs is None else epochs
        result = adapt_model(base, target, actions, epochs=epochs, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    return (
        f"Modèle adapté écrit dans {result.target} : {result.n_pairs} paires, "
        f"{result.steps} lots, {result.epochs} époque(s), en {result.seconds:.0f} s "
        f"(perte finale {result.final_loss:.3f}).\n"
        f"Pour l'essayer : RECO_ENCODERS=st:{result.target} RECO_INDEX=<dossier> reco build"
    )
