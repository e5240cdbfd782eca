"""Domain adaptation of the local sentence-transformers model on the records themselves.

Training pairs (query side, passage side) come from `data/actions.jsonl`: why an action
was set up, what it does, its tags, its limits or its title, each paired with the action's
summary; and from `data/adapt/needs.json`: needs as staff type them, written for each action
by sessions that read the records only (docs/EVALUATION.md). The evaluation queries
(`data/eval/`) are never read here.

Training uses in-batch negatives (MultipleNegativesRankingLoss). A batch never holds two
pairs of the same action, so an action's own summary is never used as a negative. Each side
gets the prompt search gives it: queries are encoded as QUERY, chunks as PASSAGE.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.core.config import Settings
from recommender.core.storage import atomic_directory
from recommender.records.records import Action, load_actions
from recommender.training.pairs import (
    ALL_KINDS,
    Pair,
    PairKind,
    WrittenNeed,
    build_pairs,
    load_written_needs,
    make_batches,
)

if TYPE_CHECKING:  # torch and sentence-transformers load only when training
    from sentence_transformers import SentenceTransformer

ADAPTED_SUFFIX = "-adapted"
DEFAULT_EPOCHS = 1
DEFAULT_BATCH_SIZE = 16
DEFAULT_LEARNING_RATE = 1e-4  # chosen on the dev split (docs/ADAPTATION.md)
DEFAULT_MAX_SEQ_LENGTH = 256

Progress = Callable[[int, int], None]


class AdaptError(RuntimeError):
    """The adaptation cannot run; the French message says what to do."""


@dataclass(frozen=True)
class AdaptResult:
    target: Path
    n_pairs: int
    n_need_pairs: int  # of which from written needs
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
    needs: Sequence[WrittenNeed] = (),
    progress: Progress | None = None,
) -> AdaptResult:
    """Fine-tune `base` on pairs built from `actions` (and the needs written for them); write
    the model to `target` atomically.

    A failure (or Ctrl-C) leaves any previous `target` untouched.
    """
    train = TrainSettings(epochs, batch_size, learning_rate, max_seq_length, seed, tuple(kinds))
    _check_settings(train)
    _check_paths(base, target)
    pairs = build_pairs(actions, seed=seed, kinds=train.kinds, needs=needs)
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
    n_needs = sum(p.kind is PairKind.NEED for p in pairs)
    return AdaptResult(target, len(pairs), n_needs, len(schedule), epochs, seconds, final_loss)


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


def _written_needs(settings: Settings) -> tuple[WrittenNeed, ...]:
    try:
        return load_written_needs(settings.written_needs)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AdaptError(
            f"{settings.written_needs} illisible ({exc}) : corrigez-le ou retirez-le"
        ) from exc


def trained_pairs(target: Path) -> int | None:
    """How many pairs the model in `target` was trained on (its adapt.json), if it says."""
    try:
        return int(json.loads((target / "adapt.json").read_text(encoding="utf-8"))["n_pairs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_adapt(
    settings: Settings,
    base: Path | None = None,
    target: Path | None = None,
    epochs: int | None = None,
    show_progress: bool = True,
    if_missing: bool = False,
) -> str:
    """`reco model adapt`: train with a progress bar, then export the model to ONNX (the
    app's queries skip torch); return the closing lines (French). With `if_missing`, an
    existing target is kept and only exported if its export is missing or stale, unless its
    adapt.json says it was trained on other pairs than the records and written needs give
    now (an older model: its calibration would not match, data/calibration.json)."""
    from tqdm import tqdm

    base = base or default_base(settings)
    target = target or default_target(base)
    present = (target / "modules.json").is_file()
    kept = f"Modèle adapté déjà présent dans {target} (rien à entraîner).\n"
    if if_missing and present and not settings.data_path.is_file():
        return kept + run_export(target)
    actions = _records(settings.data_path)
    needs = _written_needs(settings)
    if if_missing and present:
        trained, expected = trained_pairs(target), len(build_pairs(actions, needs=needs))
        if trained in (None, expected):
            return kept + run_export(target)
        print(
            f"Le modèle adapté de {target} a été entraîné sur {trained} paires, "
            f"les fiches et les besoins écrits en donnent {expected} : nouvel entraînement."
        )
    bars: list[tqdm] = []  # opened on the first batch: no empty bar before an error

    def progress(step: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="Adaptation", unit="lot", disable=not show_progress))
        bars[0].update(step - bars[0].n)

    try:
        epochs = DEFAULT_EPOCHS if epochs is None else epochs
        result = adapt_model(base, target, actions, epochs=epochs, needs=needs, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    return (
        f"Modèle adapté écrit dans {result.target} : {result.n_pairs} paires "
        f"(dont {result.n_need_pairs} besoins écrits), "
        f"{result.steps} lots, {result.epochs} époque(s), en {result.seconds:.0f} s "
        f"(perte finale {result.final_loss:.3f}).\n"
        f"{run_export(result.target)}\n"
        "C'est l'encodeur par défaut (e5-adapted) s'il est dans models/ : lancez `reco build` "
        f"pour reconstruire l'index (ailleurs : RECO_ENCODERS=st:{result.target} reco build)."
    )


def run_export(folder: Path, force: bool = False, int8: bool = False) -> str:
    """`reco model export` (also the end of `reco model adapt`): the closing line (French)."""
    from embeddings.onnx_export import ExportError, export_onnx

    try:
        result = export_onnx(folder, force=force)
    except ExportError as exc:
        raise AdaptError(str(exc)) from exc
    where = folder / "onnx"
    if result.skipped:
        line = f"Export ONNX déjà à jour dans {where} (rien à faire)."
    else:
        line = (
            f"Export ONNX écrit dans {where} : {result.size_bytes / 1e6:.0f} Mo en "
            f"{result.seconds:.0f} s (cosinus minimal avec torch : {result.min_cosine:.5f})."
        )
    return f"{line}\n{_export_int8(folder, force)}" if int8 else line


def _export_int8(folder: Path, force: bool) -> str:
    from embeddings.onnx_int8 import QuantiseError, quantise_export

    try:
        result = quantise_export(folder, force=force)
    except QuantiseError as exc:
        raise AdaptError(str(exc)) from exc
    if result.skipped:
        return "Export int8 déjà à jour (rien à faire)."
    return (
        f"Export int8 écrit : {result.size_bytes / 1e6:.0f} Mo en {result.seconds:.0f} s "
        f"(cosinus avec float32 : moyen {result.mean_cosine:.4f}, minimal "
        f"{result.min_cosine:.4f}) ; pour l'essayer : `reco build --encoders e5-adapted@onnx-int8`."
    )
