"""A national-scale corpus in the export format, recombined from the real records.

    python -m bench.corpus_gen --n 20000 -o /tmp/corpus-20k [--seed 0]

writes `DIR/raw/NNN_gen.txt` (1,000 records per file, layouts 1 and 2 alternating, like
data/raw/) so the real `reco ingest` path runs, and `DIR/planted.json`: the duplicate groups
planted on purpose (exact copies and near copies, by content id) for checks to compare with
what ingestion finds.

How the records are made (deterministic for a seed):
- each text field is recombined sentence by sentence from the same field of the real records
  (data/actions.jsonl), with as many sentences as a real record drawn at random (times a
  spread factor), so the length distribution follows the real one; 1 % are very long
  (the description and experience five times longer); limits stay empty as often as in the
  real records;
- titles are real titles with a town and, if needed, a year: all distinct;
- structures (« CENTRE SOCIAL … ») belong to a département (all of France, the real
  records' départements weighted more); status, end reason, dimension, tags follow the real
  shares;
- `n` distinct actions, plus exact copies (`exact_rate`) and near copies (`near_rate`: a
  word changed or a sentence added, word 3-shingle Jaccard ≥ 0.9 with the original, checked
  here with the ingestion's own function) spread over the files.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench.export_render import render_export
from recommender.records.departements import DEPARTEMENTS
from recommender.records.duplicates import NEAR_DUPLICATE_THRESHOLD, jaccard, shingles
from recommender.records.records import Action, load_actions

REPO = Path(__file__).resolve().parent.parent
RECORDS = REPO / "data" / "actions.jsonl"
PER_FILE = 1_000
EXACT_RATE = 0.02
NEAR_RATE = 0.02
LONG_RATE = 0.01
SPREAD = 0.35  # lognormal sigma of the length factor

SENTENCE_FIELDS = (
    "summary",
    "experience",
    "description",
    "resources",
    "people",
    "result_territory",
    "result_centre",
    "result_inhabitants",
    "limits",
    "perspectives",
)
LONG_FIELDS = ("experience", "description")
DRAWN_FIELDS = ("status", "dimension", "end_reason", "keywords", "initiative", "territory")
DRAWN_FIELDS += ("public", "partners", "initiative_detail", "files", "title")
KINDS = ("CENTRE SOCIAL", "Centre social", "Centre Social", "Maison de quartier", "ESPACE SOCIAL")
NAMES = (
    "Albert Schweitzer", "Jean Jaurès", "Louise Michel", "Les Tilleuls", "Les Ormeaux",
    "Victor Hugo", "Pablo Neruda", "Simone Veil", "Nelson Mandela", "Jacques Prévert",
    "Le Lierre", "La Passerelle", "L'Escale", "Le Trait d'Union", "La Ruche", "Arc-en-ciel",
    "Les Glycines", "Rosa Parks", "Marie Curie", "Jules Ferry", "La Source", "Le Phare",
    "Les Acacias", "Jean Moulin", "George Sand", "La Boussole", "Le Colombier", "Aimé Césaire",
    "Olympe de Gouges", "Les Peupliers", "La Farandole", "Le Kiosque", "L'Agora", "Le Pont",
)  # fmt: skip
TOWN_A = (
    "Beau", "Ville", "Mont", "Roche", "Fontaine", "Saint-Martin-", "Bel", "Neuf", "Val",
    "Clair", "Grand", "Pont", "Bois", "Champ", "Sainte-Marie-", "Châtel", "Haute", "Longue",
    "Mar", "Roque", "Sauve", "Ver", "Blanc", "Riche", "Font", "Cour", "Mer", "Bour", "Lan",
    "Plou",
)  # fmt: skip
TOWN_B = (
    "mont", "ville", "fort", "val", "court", "bourg", "lieu", "champ", "vert", "roche",
    "fontaine", "brune", "fleury", "pré", "vallon", "bois", "mesnil", "sur-Loire", "les-Bains",
    "la-Forêt", "d'Azur", "mare", "pierre", "lac", "marais", "ganne", "villiers", "neuve",
    "garde", "fosse",
)  # fmt: skip
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=\S)")


@dataclass(frozen=True)
class Pools:
    """What the real records offer, field by field."""

    records: tuple[Action, ...]
    sentences: dict[str, list[str]]
    layout: dict[str, list[tuple[int, int]]]  # per field, per record: (lines, sentences)
    values: dict[str, list[object]]  # raw values to draw with the real frequencies


def _split(text: str) -> list[list[str]]:
    """Lines, each a list of sentences (empty lines dropped)."""
    return [[s.strip() for s in _SENTENCE.split(line) if s.strip()] for line in text.split("\n")]


def read_pools(records: Sequence[Action]) -> Pools:
    sentences: dict[str, list[str]] = {}
    layout: dict[str, list[tuple[int, int]]] = {}
    for name in SENTENCE_FIELDS:
        seen: dict[str, None] = {}
        shapes = []
        for action in records:
            lines = [line for line in _split(getattr(action, name)) if line]
            for line in lines:
                for sentence in line:
                    seen.setdefault(sentence, None)
            shapes.append((len(lines), sum(len(line) for line in lines)))
        sentences[name] = list(seen)
        layout[name] = shapes
    values: dict[str, list[object]] = {
        name: [getattr(a, name) for a in records] for name in DRAWN_FIELDS
    }
    return Pools(tuple(records), sentences, layout, values)


def _departements(rng: random.Random, records: Sequence[Action], n: int) -> list[str]:
    """All of France, with the real records' départements three times as likely."""
    real = Counter(a.departement for a in records if a.departement)
    names = list(DEPARTEMENTS.values())
    weights = [1.0 + 3.0 * real.get(name, 0) / max(real.values()) for name in names]
    return rng.choices(names, weights, k=n)


def make_structures(rng: random.Random, records: Sequence[Action], n: int) -> list[str]:
    """`n` distinct « KIND NAME de TOWN - Département » labels."""
    seen: set[str] = set()
    out: list[str] = []
    departements = _departements(rng, records, n)
    while len(out) < n:
        town = rng.choice(TOWN_A) + rng.choice(TOWN_B)
        label = f"{rng.choice(KINDS)} {rng.choice(NAMES)} de {town}"
        if label not in seen:
            seen.add(label)
            out.append(f"{label} - {departements[len(out)]}")
    return out


def _text(rng: random.Random, pools: Pools, name: str, factor: float) -> str:
    lines, count = rng.choice(pools.layout[name])
    if count == 0:
        return ""
    count = max(1, round(count * factor))
    lines = max(1, min(lines, count))
    chosen = rng.sample(pools.sentences[name], min(count, len(pools.sentences[name])))
    while len(chosen) < count:  # very long records reuse sentences
        chosen.append(rng.choice(pools.sentences[name]))
    cuts = sorted(rng.sample(range(1, len(chosen)), lines - 1)) if lines > 1 else []
    bounds = [0, *cuts, len(chosen)]
    return "\n".join(" ".join(chosen[a:b]) for a, b in itertools.pairwise(bounds))


def make_action(rng: random.Random, pools: Pools, title: str, structure: str, long: bool) -> Action:
    factor = rng.lognormvariate(0.0, SPREAD)
    texts = {
        name: _text(rng, pools, name, factor * (5.0 if long and name in LONG_FIELDS else 1.0))
        for name in SENTENCE_FIELDS
    }
    name, _, departement = structure.rpartition(" - ")
    pick = {k: rng.choice(v) for k, v in pools.values.items()}
    status = str(pick["status"])
    end_reason = str(pick["end_reason"]) if status.lower().startswith("termin") else ""
    return Action(
        title=title,
        structure=structure,
        structure_name=name,
        departement=departement,
        status=status,
        end_reason=end_reason,
        dimension=str(pick["dimension"]),
        keywords=tuple(pick["keywords"]),  # type: ignore[arg-type]
        initiative=tuple(pick["initiative"]),  # type: ignore[arg-type]
        initiative_detail=str(pick["initiative_detail"]),
        territory=tuple(pick["territory"]),  # type: ignore[arg-type]
        public=tuple(pick["public"]),  # type: ignore[arg-type]
        partners=tuple(pick["partners"]),  # type: ignore[arg-type]
        files=str(pick["files"]),
        **texts,
    ).with_id()


def make_titles(rng: random.Random, pools: Pools, n: int) -> list[str]:
    """`n` distinct titles: a real title, a town, and a year when the pair was taken."""
    seen: set[str] = set()
    titles: list[str] = []
    while len(titles) < n:
        base = str(rng.choice(pools.values["title"])).strip()
        title = f"{base} ({rng.choice(TOWN_A) + rng.choice(TOWN_B)})"
        if title in seen:
            title = f"{title[:-1]}, {rng.randint(2010, 2025)})"
        if title not in seen:
            seen.add(title)
            titles.append(title)
    return titles


def near_copy(rng: random.Random, action: Action) -> Action | None:
    """A copy with one word changed or one short sentence added, or None if that would not
    stay a near duplicate (Jaccard of word 3-shingles ≥ the ingestion's threshold)."""
    fields = [f for f in ("description", "experience", "summary") if len(getattr(action, f)) > 80]
    if not fields:
        return None
    name = rng.choice(fields)
    text = getattr(action, name)
    if rng.random() < 0.5:
        text = text + " Action reconduite l'an prochain."
    else:
        words = text.split(" ")
        k = rng.randrange(len(words))
        words[k] = words[k] + ("s" if not words[k].endswith("s") else "")
        text = " ".join(words)
    copy = replace(action, **{name: text}).with_id()
    if copy.id == action.id:
        return None
    if jaccard(shingles(copy), shingles(action)) < NEAR_DUPLICATE_THRESHOLD:
        return None
    return copy


@dataclass(frozen=True)
class Corpus:
    actions: list[Action]  # as written, copies included, in file order
    groups: list[list[str]]  # planted duplicate groups: original id first, then the copies'
    exact: int
    near: int


def generate(
    n: int,
    seed: int = 0,
    exact_rate: float = EXACT_RATE,
    near_rate: float = NEAR_RATE,
    records: Sequence[Action] | None = None,
) -> Corpus:
    """`n` distinct actions plus planted exact and near copies, shuffled."""
    rng = random.Random(seed)
    pools = read_pools(records if records is not None else load_actions(RECORDS))
    structures = make_structures(rng, pools.records, max(1, n // 8))
    titles = make_titles(rng, pools, n)
    originals = [
        make_action(rng, pools, titles[i], rng.choice(structures), rng.random() < LONG_RATE)
        for i in range(n)
    ]
    copies: list[Action] = []
    groups: list[list[str]] = []
    n_exact = round(n * exact_rate)
    n_near = round(n * near_rate)
    candidates = rng.sample(range(n), n)
    for position in candidates[:n_exact]:
        copies.append(originals[position])
        groups.append([originals[position].id, originals[position].id])
    near_made = 0
    for position in candidates[n_exact:]:
        if near_made == n_near:
            break
        copy = near_copy(rng, originals[position])
        if copy is not None:
            copies.append(copy)
            groups.append([originals[position].id, copy.id])
            near_made += 1
    written = originals + copies
    rng.shuffle(written)
    return Corpus(written, groups, n_exact, near_made)


def write_corpus(corpus: Corpus, out: Path, per_file: int = PER_FILE) -> list[Path]:
    """The export files under `out/raw/` and `out/planted.json`; the files written."""
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for old in raw.glob("*_gen.txt"):
        old.unlink()
    paths = []
    for number, start in enumerate(range(0, len(corpus.actions), per_file)):
        path = raw / f"{number:03d}_gen.txt"
        text = render_export(corpus.actions[start : start + per_file], 1 + number % 2)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    planted = {
        "written": len(corpus.actions),
        "distinct": len(corpus.actions) - len(corpus.groups),
        "exact_copies": corpus.exact,
        "near_copies": corpus.near,
        "copies": len(corpus.groups),
        "groups": sorted(sorted(g) for g in corpus.groups),
    }
    (out / "planted.json").write_text(json.dumps(planted, indent=1), encoding="utf-8")
    return paths


def found_groups(groups: Sequence) -> list[list[str]]:
    """Ingestion's duplicate groups (`DuplicateGroup`) in the form of planted.json."""
    return sorted(sorted([g.canonical.id, *(o.id for o in g.others)]) for g in groups)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5_000, help="distinct actions")
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exact-rate", type=float, default=EXACT_RATE)
    parser.add_argument("--near-rate", type=float, default=NEAR_RATE)
    args = parser.parse_args(argv)
    corpus = generate(args.n, args.seed, args.exact_rate, args.near_rate)
    paths = write_corpus(corpus, args.out)
    print(
        f"{len(corpus.actions)} fiches dans {len(paths)} fichiers ({args.out / 'raw'}) : "
        f"{args.n} actions distinctes, {corpus.exact} copies exactes, {corpus.near} quasi-"
        f"copies ({args.out / 'planted.json'})"
    )


if __name__ == "__main__":
    main()
