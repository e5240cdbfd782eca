"""Bytes to text for every file people give us (exports, needs files), and CSV delimiters.

Encodings seen in the wild: UTF-8 with or without BOM, UTF-16 with its BOM (Excel's
« Texte Unicode »), Windows-1252 (Excel's « CSV » on French Windows), rarely Latin-1.
"""

from __future__ import annotations

import unicodedata

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
DELIMITERS = (";", ",", "\t")  # in this order when the header holds as many of each


def decode_text(data: bytes) -> str:
    """Decode tolerantly: UTF-16 (BOM), UTF-8, else Windows-1252, else Latin-1.

    Line endings become `\\n` and the text is NFC-normalised (accents typed either way
    compare equal). A damaged UTF-16 byte becomes U+FFFD; no other byte is ever lost.
    """
    if data.startswith(UTF16_BOMS):
        text = data.decode("utf-16", errors="replace")
    else:
        text = _decode_8bit(data.removeprefix(UTF8_BOM))
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    return unicodedata.normalize("NFC", text)


def _decode_8bit(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # five bytes cp1252 leaves undefined
        return data.decode("latin-1")


def truncated_line(data: bytes) -> int | None:
    """The line where UTF-8 text stops in the middle of a character (an incomplete copy,
    which would otherwise be read as Windows-1252 gibberish), else None."""
    if data.startswith(UTF16_BOMS):
        return None
    body = data.removeprefix(UTF8_BOM)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut = exc.reason == "unexpected end of data" and exc.start >= len(body) - 3
        if cut and not body[: exc.start].isascii():
            return body[: exc.start].count(b"\n") + 1
    return None


def guess_delimiter(text: str) -> str:
    """The CSV delimiter: the one the header (first non-empty line) holds most.

    Column names hold no delimiter, so the header is reliable where csv.Sniffer gives up
    (small `;` files with quoted multi-line cells). Ties, such as a single column, go to
    `;`, so commas inside the values of a one-column file never split them.
    """
    header = text.lstrip("\n").split("\n", 1)[0]
    return max(DELIMITERS, key=header.count)
