"""The shared helpers: decoding and delimiter guessing (exports and needs files), text."""

from __future__ import annotations

from recommender.core.decoding import decode_text, guess_delimiter, truncated_line
from recommender.core.text import highlight, md, shorten


def test_decode_text_reads_every_encoding_seen_in_the_wild():
    text = "Besoin : crèche\r\nÉté"
    assert decode_text(text.encode("utf-8")) == "Besoin : crèche\nÉté"
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8")) == "Besoin : crèche\nÉté"
    assert decode_text(text.encode("utf-16")) == "Besoin : crèche\nÉté"
    assert decode_text(text.encode("cp1252")) == "Besoin : crèche\nÉté"
    assert decode_text("e\u0301te\u0301".encode()) == "été"  # NFC


def test_truncated_line_finds_a_copy_cut_inside_a_character():
    data = "ligne 1\nligne 2 : été".encode()
    assert truncated_line(data[:-1]) == 2
    assert truncated_line(data) is None
    assert truncated_line("crèche".encode("cp1252")) is None


def test_guess_delimiter_reads_the_header_and_ties_go_to_semicolon():
    assert guess_delimiter("\ntitle,structure\na;b,c\n") == ","
    assert guess_delimiter("besoin;territoire\nx,y;z\n") == ";"
    assert guess_delimiter("besoin\nJe cherche, pour les jeunes, un atelier\n") == ";"
    assert guess_delimiter("a\tb\n") == "\t"


def test_shorten_cuts_between_words_with_or_without_line_breaks():
    assert shorten("un  deux\ntrois", 50) == "un deux trois"
    assert shorten("un deux trois quatre", 12) == "un deux …"
    assert shorten(" un\ndeux trois ", 9, keep_lines=True) == "un\ndeux …"


def test_highlight_escapes_every_piece():
    spans = ((0, 3),)
    assert highlight("<b> et *x*", spans, "**", "**", md) == "**&lt;b&gt;** et \\*x\\*"
    assert highlight("abc def", ((4, 7),), "«", "»") == "abc «def»"
