"""The methods bench/theme_classifier.py compares, each fitted on training rows only:
scikit-learn baselines on the vectors, the product's classifier before and as shipped, and
the shipped one with its representation and L2 penalty chosen by an inner cross-validation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.answers.taxonomy import Taxonomy, Written
from recommender.answers.theme_model import L2, Vectors, fit_classifier

FOLDS = 5


def macro_f1(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> float:
    return float(np.mean([f1(gold, pred, c) for c in classes]))


def f1(gold: Sequence[str], pred: Sequence[str], c: str) -> float:
    tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
    fp = sum(g != c and p == c for g, p in zip(gold, pred, strict=True))
    fn = sum(g == c and p != c for g, p in zip(gold, pred, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def stratified_folds(labels: Sequence[str], seed: int, k: int = FOLDS) -> list[np.ndarray]:
    """Indices of k test folds, each class spread evenly over the folds (like scikit-learn's
    StratifiedKFold with shuffling)."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for c in sorted(set(labels)):
        members = [i for i, y in enumerate(labels) if y == c]
        rng.shuffle(members)
        for j, i in enumerate(members):
            folds[(offset + j) % k].append(i)
        offset += len(members)
    return [np.array(sorted(f)) for f in folds]


Method = Callable[[list[int], list[int]], list[str]]  # train rows, test rows -> predictions


def out_of_fold(method: Method, rows: Sequence[int], folds: Sequence[np.ndarray]) -> list[str]:
    """`method`'s prediction for each of `rows`, each fitted without the fold holding it
    (`folds`: positions in `rows`)."""
    pred = [""] * len(rows)
    for fold in folds:
        held = [int(j) for j in fold]
        left_out = set(held)
        train = [r for j, r in enumerate(rows) if j not in left_out]
        for j, p in zip(held, method(train, [rows[j] for j in held]), strict=True):
            pred[j] = p
    return pred


def sk_methods(x: np.ndarray, y: list[str]) -> dict[str, Method]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    def sk(make: Callable[[], object]) -> Method:
        def run(train: list[int], test: list[int]) -> list[str]:
            model = make()
            model.fit(x[train], [y[i] for i in train])  # type: ignore[attr-defined]
            return list(model.predict(x[test]))  # type: ignore[attr-defined]

        return run

    def knn(train: list[int], test: list[int], k: int = 3) -> list[str]:
        out = []
        for row in x[test] @ x[train].T:
            votes: Counter[str] = Counter()
            for j in np.argsort(-row)[:k]:
                votes[y[train[j]]] += float(row[j])
            out.append(votes.most_common(1)[0][0])
        return out

    def prototype(train: list[int], test: list[int]) -> list[str]:
        classes = sorted({y[i] for i in train})
        centres = np.stack([x[[i for i in train if y[i] == c]].mean(axis=0) for c in classes])
        return [classes[j] for j in (x[test] @ centres.T).argmax(axis=1)]

    return {
        "kNN (k=3) sur les vecteurs": knn,
        "prototype le plus proche": prototype,
        "régression logistique sur les vecteurs": sk(
            lambda: LogisticRegression(C=10, max_iter=3000, class_weight="balanced")
        ),
        "SVM linéaire sur les vecteurs": sk(lambda: LinearSVC(C=1, class_weight="balanced")),
    }


BEFORE = "produit avant : e5 + définitions"
PRODUCT = "produit sans énoncés écrits : e5 + USE + définitions"
NESTED = "produit livré, représentation et L2 choisis dans les plis d'entraînement"
OLD_L2 = 1e-3  # the penalty before the nested choice
WRITTEN = f"produit livré : e5 + USE + définitions + énoncés écrits (written.json), L2 {L2:g}"
WRITTEN_BEFORE = f"le même avec L2 {OLD_L2:g} (livré avant le choix imbriqué)"
INNER_FOLDS = 4


def product_method(
    taxonomy: Taxonomy,
    kind: str,
    texts: list[str],
    gold: list[str],
    vectors: Vectors,
    *,
    other: bool = True,
    written: Sequence[Written] = (),
    l2: float = L2,
) -> Method:
    """The product's classifier, fitted on the training rows only (plus `written`)."""

    def run(train: list[int], test: list[int]) -> list[str]:
        model = fit_classifier(
            taxonomy,
            kind,
            [texts[i] for i in train],
            [gold[i] for i in train],
            vectors,
            other=other,
            written=written,
            l2=l2,
        )
        test_texts = [texts[i] for i in test]
        return model.predict(test_texts, vectors(test_texts))

    return run


Choice = tuple[Vectors, float]  # a representation and the classifier's L2 penalty


def nested_method(
    taxonomy: Taxonomy,
    kind: str,
    texts: list[str],
    gold: list[str],
    choices: dict[str, Choice],
    written: Sequence[Written],
) -> Method:
    """The product (with `written`) with the representation and L2 penalty that score best
    in an inner cross-validation on the training rows alone; `run.chosen` counts the choices."""
    classes = taxonomy.keys(kind)

    def method(choice: Choice) -> Method:
        vectors, l2 = choice
        return product_method(taxonomy, kind, texts, gold, vectors, written=written, l2=l2)

    def run(train: list[int], test: list[int]) -> list[str]:
        inner_gold = [gold[i] for i in train]
        scores = {}
        inner_folds = stratified_folds(inner_gold, 0, INNER_FOLDS)
        for name, choice in choices.items():
            pred = out_of_fold(method(choice), train, inner_folds)
            scores[name] = macro_f1(inner_gold, pred, classes)
        best = max(scores, key=lambda n: scores[n])
        run.chosen[best] += 1  # type: ignore[attr-defined]
        return method(choices[best])(train, test)

    run.chosen = Counter()  # type: ignore[attr-defined]
    return run


@dataclass(frozen=True)
class Channels:
    """The statement vectors the methods read: the engine's encoder, the second one, both."""

    first: Vectors
    second: Vectors
    joint: Vectors


def side_methods(
    taxonomy: Taxonomy,
    kind: str,
    texts: list[str],
    gold: list[str],
    channels: Channels,
    written: Sequence[Written],
    nested: bool,
) -> dict[str, Method]:
    """The methods compared on one side, by table row name."""
    methods = sk_methods(channels.first(texts).astype(np.float64), gold)
    # The former products, with the penalty they had.
    methods[BEFORE] = product_method(taxonomy, kind, texts, gold, channels.first, l2=OLD_L2)
    methods[PRODUCT] = product_method(taxonomy, kind, texts, gold, channels.joint, l2=OLD_L2)
    if written:
        methods[WRITTEN] = product_method(
            taxonomy, kind, texts, gold, channels.joint, written=written
        )
        methods[WRITTEN_BEFORE] = product_method(
            taxonomy, kind, texts, gold, channels.joint, written=written, l2=OLD_L2
        )
    methods["produit livré, entraîné sans « autre »"] = product_method(
        taxonomy, kind, texts, gold, channels.joint, other=False, written=written
    )
    if nested:
        representations = (("e5", channels.first), ("USE", channels.second))
        choices = {
            f"{name}, L2 {l2:g}": (v, l2)
            for name, v in (*representations, ("e5 + USE", channels.joint))
            for l2 in (L2, OLD_L2)
        }
        methods[NESTED] = nested_method(taxonomy, kind, texts, gold, choices, written)
    return methods
