"""Cross-validated themes of limit and perspective statements (docs/EVALUATION.md).

    python -m bench.theme_classifier [--encoder e5-adapted] [--second use] [--seeds 3]
        [--nested] [--out FILE.md]

Stratified 5-fold cross-validation on data/synthesis/labels.json (232 statements), repeated
with `--seeds` shuffles; each side (limits, perspectives) separately. For every method the
table gives macro-F1 over the side's themes (« autre » included, as labelled), the share of
statements put in « autre », and the macro-F1 on the statements the cutting keeps
(answers/statements.py drops « Aucune limite », « à déterminer »…). Methods:

- kNN (k=3, cosine), nearest prototype, logistic regression and linear SVM on the embeddings
  (scikit-learn, the statements as e5 « query: » texts);
- the product before and after (`answers.theme_model.fit_classifier`): softmax regression
  on the embeddings plus the stems shared with each definition, trained with the definitions
  and their phrases; before: the engine's e5 vectors; after: e5 and multilingual USE side
  by side (`JointVectors`), as answers/themes.py now does;
- `--merge`: the same on a revised taxonomy where « Attirer et toucher le public » and
  « Maintenir l'engagement des participants » are one theme, « Mobiliser et garder le
  public » (the issue's own example list names it so); labels relabelled by that mapping
  alone, with the judges' kappa before and after;
- `--nested`: the representation (e5, USE or both) chosen inside each training fold by an
  inner 4-fold cross-validation, so that the choice itself is measured honestly;
- the former keyword lists of answers/synthesis.py (written before the labels), mapped to the
  new themes, alone and as an override of the product on the themes where they measure better.

Vectors are cached in cache/statements/ (the first run embeds ~480 short texts per encoder).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from embeddings.registry import get_encoder
from recommender.answers.statements import statements
from recommender.answers.taxonomy import (
    KINDS,
    OTHER,
    SYNTHESIS_DIR,
    Taxonomy,
    Written,
    load_labelled,
    load_written,
)
from recommender.answers.theme_model import (
    JointVectors,
    StatementVectors,
    Vectors,
    fit_classifier,
)
from recommender.index.lexical import analyze

FOLDS = 5
# The former lists (answers/synthesis.py before issue 14) and the new theme they stand for.
OLD_LISTS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "limite": {
        "Mobiliser et garder le public": ("mobilisation_public", ("mobilis", "particip",
            "frequent", "inscri", "venu", "touch", "essouffl", "assidu", "absent", "adher")),
        "Moyens financiers": ("financement", ("cout", "financ", "budget", "subvent", "argent",
            "payant", "prix", "fond", "euro")),
        "Équipe et bénévoles": ("equipe_benevoles", ("benevol", "salari", "equip", "animateur",
            "professionnel", "personnel", "referent", "encadr")),
        "Temps et organisation": ("temps_duree", ("temp", "organis", "planning", "calendri",
            "horair", "dure", "logist", "rythm")),
        "Partenariats": ("partenariat_institutions", ("partenair", "partenariat", "collabor",
            "reseau", "institu")),
        "Contexte sanitaire": ("contexte_sanitaire", ("covid", "sanitair", "confin", "crise",
            "virus")),
        "Communication": (OTHER, ("communiqu", "communic", "inform", "affich", "diffus",
            "connaitr")),
        "Lieux et matériel": ("locaux_materiel", ("local", "lieu", "sall", "materiel", "espac",
            "equipe", "transport")),
    },
    "perspective": {
        "Poursuivre et pérenniser": ("poursuivre", ("poursuiv", "continu", "renouvel",
            "perenn", "reconduir", "maintien", "maintenir", "prochain", "annee")),
        "Élargir le public ou le territoire": ("elargir_public", ("elarg", "ouvr", "etendr",
            "developp", "nouveau", "autr", "quarti", "commun")),
        "Impliquer davantage les habitants": ("impliquer_habitants", ("habit", "benevol",
            "autonom", "particip", "implique", "implic", "porteur")),
        "Renforcer les partenariats": ("partenariats", ("partenair", "partenariat", "collabor",
            "reseau")),
        "Se former et outiller": (OTHER, ("form", "outil", "guid", "livret", "support")),
    },
}  # fmt: skip


def old_keywords(text: str, kind: str) -> str:
    """The first former list with a matching stem, as a new theme (« autre » if none)."""
    stems = set(analyze(text))
    for theme, cues in OLD_LISTS[kind].values():
        if any(s.startswith(cues) for s in stems):
            return theme
    return OTHER


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
PRODUCT = "produit après : e5 + USE + définitions (answers/themes.py)"
WRITTEN = "produit après + énoncés écrits des définitions (written.json)"
NESTED = "représentation choisie dans les plis d'entraînement (e5, USE ou les deux)"
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
        )
        test_texts = [texts[i] for i in test]
        return model.predict(test_texts, vectors(test_texts))

    return run


def nested_method(
    taxonomy: Taxonomy, kind: str, texts: list[str], gold: list[str], choices: dict[str, Vectors]
) -> Method:
    """The product with the representation that scores best in an inner cross-validation on
    the training rows alone; `run.chosen` counts the choices."""
    classes = taxonomy.keys(kind)

    def run(train: list[int], test: list[int]) -> list[str]:
        inner_gold = [gold[i] for i in train]
        scores = {}
        for name, vectors in choices.items():
            method = product_method(taxonomy, kind, texts, gold, vectors)
            pred = [""] * len(train)
            for fold in stratified_folds(inner_gold, 0, INNER_FOLDS):
                held = [int(j) for j in fold]
                fit_rows = [train[j] for j in range(len(train)) if j not in set(held)]
                found = method(fit_rows, [train[j] for j in held])
                for j, p in zip(held, found, strict=True):
                    pred[j] = p
            scores[name] = macro_f1(inner_gold, pred, classes)
        best = max(scores, key=lambda n: scores[n])
        run.chosen[best] += 1  # type: ignore[attr-defined]
        return product_method(taxonomy, kind, texts, gold, choices[best])(train, test)

    run.chosen = Counter()  # type: ignore[attr-defined]
    return run


# The revised taxonomy of `--merge`: old key -> (new key, new label).
MERGE = {
    "mobilisation_public": ("mobiliser_garder_public", "Mobiliser et garder le public"),
    "engagement_participants": ("mobiliser_garder_public", "Mobiliser et garder le public"),
}


def merged(taxonomy: Taxonomy) -> Taxonomy:
    """`taxonomy` with the MERGE themes under one key and label (each keeps its definition
    and phrases, all as training points of the merged theme)."""
    themes = [
        replace(t, key=MERGE[t.key][0], label=MERGE[t.key][1]) if t.key in MERGE else t
        for t in taxonomy.themes
    ]
    return Taxonomy(tuple(themes))


def kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two labellings of the same items."""
    observed = np.mean([x == y for x, y in zip(a, b, strict=True)])
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[c] * cb[c] for c in ca) / len(a) ** 2
    return float((observed - expected) / (1 - expected))


def judges_agreement(merge: bool) -> str:
    """The judges' kappa per side, on the current labels or after the MERGE mapping."""
    a, b = (
        json.loads((SYNTHESIS_DIR / f"labels_judge_{j}.json").read_text(encoding="utf-8"))
        for j in ("A", "B")
    )
    relabel = (lambda k: MERGE[k][0] if k in MERGE else k) if merge else (lambda k: k)
    parts = []
    for kind in KINDS:
        ids = sorted(i for i in a if i.startswith(kind[0]) and i in b)
        score = kappa([relabel(a[i]) for i in ids], [relabel(b[i]) for i in ids])
        parts.append(f"{kind}s {score:.3f}")
    return ", ".join(parts)


def evaluate(
    encoder_spec: str,
    seeds: int,
    second_spec: str = "use",
    nested: bool = False,
    merge: bool = False,
    use_written: bool = True,
) -> str:
    taxonomy = Taxonomy.load(SYNTHESIS_DIR)
    labelled = load_labelled(SYNTHESIS_DIR)
    written = load_written(taxonomy, SYNTHESIS_DIR) if use_written else ()
    if merge:
        written = tuple(
            replace(w, theme=MERGE[w.theme][0]) if w.theme in MERGE else w for w in written
        )
        taxonomy = merged(taxonomy)
        labelled = tuple(
            replace(s, theme=MERGE[s.theme][0]) if s.theme in MERGE else s for s in labelled
        )
    encoder = get_encoder(encoder_spec, models_dir=Path("models"))
    second = get_encoder(second_spec, models_dir=Path("models"))
    vectors = StatementVectors(encoder, Path("cache/statements"))
    second_vectors = StatementVectors(second, Path("cache/statements"))
    joint = JointVectors([vectors, second_vectors])
    started = time.perf_counter()
    lines = [
        f"Encodeurs : `{encoder.id}` et `{second.id}` ; validation croisée stratifiée "
        f"{FOLDS} plis × {seeds} tirages ; {len(labelled)} énoncés étiquetés.",
        "",
    ]
    lines += [
        f"Taxonomie {'révisée (--merge)' if merge else 'actuelle'} ; kappa entre les juges : "
        f"{judges_agreement(merge)}.",
        "",
    ]
    chosen_lines: list[str] = []
    shares: dict[str, list[float]] = {}
    per_theme_rows: list[str] = []
    for kind in KINDS:
        rows = [s for s in labelled if s.kind == kind]
        texts = [s.text for s in rows]
        gold = [s.theme for s in rows]
        classes = list(dict.fromkeys(taxonomy.keys(kind)))
        kept = [i for i, s in enumerate(rows) if s.text in statements(s.text)]
        x = vectors(texts).astype(np.float64)

        methods = sk_methods(x, gold)
        methods[BEFORE] = product_method(taxonomy, kind, texts, gold, vectors)
        methods[PRODUCT] = product_method(taxonomy, kind, texts, gold, joint)
        if written:
            methods[WRITTEN] = product_method(taxonomy, kind, texts, gold, joint, written=written)
        methods["produit après, entraîné sans « autre »"] = product_method(
            taxonomy, kind, texts, gold, joint, other=False
        )
        if nested:
            choices = {"e5": vectors, "USE": second_vectors, "e5 + USE": joint}
            methods[NESTED] = nested_method(taxonomy, kind, texts, gold, choices)
        predictions: dict[str, list[list[str]]] = {name: [] for name in methods}
        for seed in range(seeds):
            folds = stratified_folds(gold, seed)
            for name, method in methods.items():
                pred = [""] * len(rows)
                for test in folds:
                    test_rows = [int(i) for i in test]
                    train = [i for i in range(len(rows)) if i not in set(test_rows)]
                    for i, p in zip(test_rows, method(train, test_rows), strict=True):
                        pred[i] = p
                predictions[name].append(pred)
        keywords = [old_keywords(t, kind) for t in texts]
        if merge:
            keywords = [MERGE[k][0] if k in MERGE else k for k in keywords]
        predictions["anciennes listes de mots (avant)"] = [keywords] * seeds
        # Keyword lists kept only on the themes where they measure better than the product.
        best = predictions[PRODUCT]
        product_f1 = {c: np.mean([f1(gold, p, c) for p in best]) for c in classes}
        before_f1 = {c: np.mean([f1(gold, p, c) for p in predictions[BEFORE]]) for c in classes}
        for name in (BEFORE, PRODUCT):
            shares.setdefault(name, []).extend(
                float(np.mean([q == OTHER for q in p])) * len(p) for p in predictions[name]
            )
        if nested:
            chosen = methods[NESTED].chosen  # type: ignore[attr-defined]
            chosen_lines.append(
                f"- {kind} : " + ", ".join(f"{n} {k} fois" for n, k in chosen.most_common())
            )
        better = [c for c in classes if c != OTHER and f1(gold, keywords, c) > product_f1[c]]
        predictions[f"produit + listes sur {', '.join(better) or 'aucun thème'}"] = [
            [k if k in better else p for k, p in zip(keywords, pred, strict=True)] for pred in best
        ]
        lines += [
            f"### {'Limites' if kind == 'limite' else 'Perspectives'} ({len(rows)} énoncés, "
            f"{len(classes)} thèmes dont « autre »)",
            "",
            f"| méthode | macro-F1 | écart entre tirages | part « autre » | sur les {len(kept)} "
            "énoncés gardés par le découpage : macro-F1 | : part « autre » |",
            "|---|---|---|---|---|---|",
        ]
        for name, preds in predictions.items():
            scores = [macro_f1(gold, p, classes) for p in preds]
            other = np.mean([sum(q == OTHER for q in p) / len(p) for p in preds])
            kept_scores = [
                macro_f1([gold[i] for i in kept], [p[i] for i in kept], classes) for p in preds
            ]
            kept_other = np.mean([np.mean([p[i] == OTHER for i in kept]) for p in preds])
            lines.append(
                f"| {name} | **{np.mean(scores):.3f}** | {min(scores):.3f}–{max(scores):.3f} "
                f"| {other:.0%} | {np.mean(kept_scores):.3f} | {kept_other:.0%} |"
            )
        gold_other = sum(g == OTHER for g in gold) / len(gold)
        kept_gold = np.mean([gold[i] == OTHER for i in kept])
        lines += [
            "",
            f"Part de « autre » dans les étiquettes : {gold_other:.0%} ({kept_gold:.0%} des "
            "énoncés gardés par le découpage).",
            "",
        ]
        counts = Counter(gold)
        per_theme_rows += [
            f"| {kind} | {taxonomy.label(kind, c)} | {counts[c]} | {before_f1[c]:.2f} "
            f"| {product_f1[c]:.2f} | {f1(gold, keywords, c):.2f} |"
            for c in classes
        ]
    lines += [
        "Part de « autre » sur les deux côtés : "
        + " ; ".join(
            f"{n.split(' :')[0]} {sum(v) / (seeds * len(labelled)):.0%}" for n, v in shares.items()
        )
        + ".",
        "",
    ]
    if chosen_lines:
        lines += ["Représentation choisie par la validation interne (plis × tirages) :", ""]
        lines += [*chosen_lines, ""]
    lines += [
        "### F1 par thème (produit avant et après, moyenne des tirages ; anciennes listes)",
        "",
        "| côté | thème | énoncés | F1 avant | F1 après | F1 anciennes listes |",
        "|---|---|---|---|---|---|",
        *per_theme_rows,
        "",
        f"Durée : {time.perf_counter() - started:.0f} s.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="e5-adapted")
    parser.add_argument("--second", default="use", help="encodeur lu à côté (produit après)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--nested", action="store_true", help="choix imbriqué (≈ 15 min)")
    parser.add_argument("--merge", action="store_true", help="taxonomie révisée (attirer + garder)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-written", action="store_true", help="sans written.json")
    args = parser.parse_args(argv)
    text = evaluate(
        args.encoder, args.seeds, args.second, args.nested, args.merge, not args.no_written
    )
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
