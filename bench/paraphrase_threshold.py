"""The similarity above which two statements are one point of the synthesis.

    python -m bench.paraphrase_threshold [--encoder e5-adapted]

Reads data/synthesis/paraphrases.json (pairs of statements from the records read by hand:
the same idea in other words, or a neighbouring but different point), embeds them as the
synthesis does (answers/themes.StatementVectors, e5 « query: » form) and prints each pair's
cosine, then the threshold that separates them best (midpoint of the best cut) and the
errors it makes. answers/synthesis.py MERGE_SIMILARITY is set from it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.registry import get_encoder
from recommender.answers.themes import SYNTHESIS_DIR, StatementThemes


def best_cut(cosines: np.ndarray, same: np.ndarray) -> tuple[float, int, int, int]:
    """The highest threshold with the fewest errors (a wrong merge hides a point, a missed
    one only repeats it), its errors, wrong merges and missed paraphrases."""
    cuts = np.sort(np.unique(cosines))
    candidates = np.concatenate([[cuts[0] - 0.01], (cuts[:-1] + cuts[1:]) / 2, [cuts[-1] + 0.01]])
    errors = [int(((cosines >= t) != same).sum()) for t in candidates]
    threshold = float(max(t for t, e in zip(candidates, errors, strict=True) if e == min(errors)))
    wrong = int(((cosines >= threshold) & ~same).sum())
    missed = int(((cosines < threshold) & same).sum())
    return threshold, min(errors), wrong, missed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="e5-adapted")
    args = parser.parse_args(argv)
    pairs = json.loads((SYNTHESIS_DIR / "paraphrases.json").read_text(encoding="utf-8"))["pairs"]
    encoder = get_encoder(args.encoder, models_dir=Path("models"))
    themes = StatementThemes(encoder, SYNTHESIS_DIR, Path("cache/statements"))
    vectors = themes.vectors
    a = vectors([p["a"] for p in pairs])
    b = vectors([p["b"] for p in pairs])
    cosines = (a * b).sum(axis=1)
    same = np.array([p["same"] for p in pairs])
    for cos, pair in sorted(zip(cosines, pairs, strict=True), key=lambda x: -x[0]):
        mark = "=" if pair["same"] else "≠"
        print(f"{cos:.3f} {mark} {pair['a'][:60]!r} / {pair['b'][:60]!r}")
    print(
        f"\n{encoder.id}: {int(same.sum())} paraphrases, {int((~same).sum())} different pairs; "
        f"paraphrases {cosines[same].min():.3f}–{cosines[same].max():.3f} "
        f"(median {np.median(cosines[same]):.3f}), different {cosines[~same].min():.3f}–"
        f"{cosines[~same].max():.3f} (median {np.median(cosines[~same]):.3f})"
    )
    threshold, errors, wrong, missed = best_cut(cosines, same)
    print(
        f"cosine alone: threshold {threshold:.3f}, {errors} error(s) out of {len(pairs)} "
        f"({wrong} different pairs merged, {missed} paraphrases kept apart)"
    )
    kinds = [p["kind"] for p in pairs]
    theme_a = [themes.themes([p["a"]], k)[0] for p, k in zip(pairs, kinds, strict=True)]
    theme_b = [themes.themes([p["b"]], k)[0] for p, k in zip(pairs, kinds, strict=True)]
    same_theme = np.array([x == y for x, y in zip(theme_a, theme_b, strict=True)])
    gated = np.where(same_theme, cosines, -1.0)
    threshold, errors, wrong, missed = best_cut(gated, same)
    print(
        f"same theme and cosine: threshold {threshold:.3f}, {errors} error(s) out of "
        f"{len(pairs)} ({wrong} different pairs merged, {missed} paraphrases kept apart; "
        f"{int((same & ~same_theme).sum())} paraphrases have two themes)"
    )


if __name__ == "__main__":
    main()
