"""The « Rapport » tab's upload: limits, wrong types, hostile names, and what gets touched.

`ui.report_tab._report` is called as Gradio calls it, with the path of Gradio's temporary
copy of the upload (made here as Gradio makes it: `<cache>/<sha256>/<sanitised base name>`).
Every file the handler opens or creates is recorded with an audit hook, so the tests can
check that it reads that copy only and writes only into a directory it made itself.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from gradio.processing_utils import check_all_files_in_cache
from gradio_client.utils import strip_invalid_filename_characters
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

import app
from recommender.reports.needs_file import MAX_NEEDS, SUPPORTED, ReportError, read_needs
from recommender.reports.needs_formats import MAX_LINES, MAX_ROWS
from recommender.search.service import Engine
from ui import common, interface, report_tab

ROOT = Path(__file__).resolve().parents[1]
ACCEPTED = (".csv", ".xlsx", ".txt", ".jsonl")
NEED = "Les mamans avec des bébés restent seules chez elles"
GOOD_CSV = f"territoire;besoin\nNord;{NEED}\nSud;jardin partagé au pied des immeubles\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


GOOD_XLSX = _xlsx_bytes([["Centre", "Besoin"], ["CS A", NEED]])


# ---- recording what the handler touches --------------------------------------------------

_RECORDING: list[list[tuple[str, str]]] = []  # one list per `touched()` block in progress
_EVENTS = {"open", "os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.truncate"}


def _audit(event: str, args: tuple) -> None:
    if not _RECORDING or event not in _EVENTS:
        return
    if event == "open":  # (path, mode, flags); mode is None for os.open
        event = f"open:{args[1] or 'os.open'}"
    for arg in args[:2] if event in {"os.rename", "os.symlink"} else args[:1]:
        if isinstance(arg, str | bytes | os.PathLike):
            _RECORDING[-1].append((event, os.fsdecode(arg)))


sys.addaudithook(_audit)  # audit hooks stay for the process: it records only inside touched()


@contextmanager
def touched() -> Iterator[list[tuple[str, str]]]:
    """Every (event, path) opened, created, renamed or removed by this thread meanwhile."""
    events: list[tuple[str, str]] = []
    _RECORDING.append(events)
    try:
        yield events
    finally:
        _RECORDING.remove(events)


def _code_or_library(path: Path) -> bool:
    """Python modules imported lazily (openpyxl, the report writers): not user data."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), ROOT / "recommender", ROOT / "ui"}
    return any(path.is_relative_to(r.resolve()) for r in roots)


# ---- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def holder(fake_engine: Engine) -> common.EngineHolder:
    return common.EngineHolder(lambda: fake_engine)


@pytest.fixture
def own_tmp(tmp_path, monkeypatch) -> Path:
    """The app's temporary directory (tempfile.mkdtemp's default), empty at the start."""
    folder = tmp_path / "app-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def gradio_upload(cache: Path, name: str, data: bytes) -> Path:
    """Where Gradio copies an upload (gradio.route_utils): base name only, sanitised."""
    safe = strip_invalid_filename_characters(Path(name).name) or "tmpupload"
    folder = cache / hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / safe).write_bytes(data)
    return folder / safe


def run(holder, path, column: str = "", fmt: str = "HTML", top: object = 5) -> tuple[object, str]:
    return report_tab._report(holder, path, column, fmt, top, progress=lambda *a, **k: None)


def _refused(out: object, message: str) -> None:
    assert out is None
    assert message and message != common.UNEXPECTED
    assert "Traceback" not in message


# ---- size --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ACCEPTED)
@pytest.mark.parametrize("size", [common.MAX_UPLOAD_BYTES, 3 * common.MAX_UPLOAD_BYTES])
def test_big_uploads_are_refused_unread(holder, own_tmp, tmp_path, suffix, size):
    path = tmp_path / "gradio" / f"besoins{suffix}"
    path.parent.mkdir()
    with path.open("wb") as handle:  # sparse: 10 or 30 MB without writing them
        handle.write(GOOD_CSV.encode())
        handle.truncate(size)
    with touched() as events:
        out, message = run(holder, str(path))
    _refused(out, message)
    assert "trop volumineux" in message and "10 Mo" in message and "découpez" in message
    assert not [p for _, p in events if Path(p) == path]  # refused before opening it
    assert list(own_tmp.iterdir()) == []  # nothing produced


def test_gradio_refuses_uploads_over_its_own_limit(monkeypatch):
    """Gradio stops uploads over `max_file_size` itself; between 10 MB and that limit the
    handler refuses them with the French message above."""
    launched: dict[str, object] = {}

    class Stop(Exception):
        pass

    class Demo:
        def queue(self, **kwargs):
            return self

        def launch(self, **kwargs):
            launched.update(kwargs)
            raise Stop

    monkeypatch.setenv("GRADIO_SERVER_NAME", "127.0.0.1")
    monkeypatch.setattr(sys, "argv", ["app.py"])
    monkeypatch.setattr(interface, "build_app", lambda *args, **kwargs: Demo())
    monkeypatch.setattr(app, "preload_query_encoders", lambda: None)
    monkeypatch.setattr(app, "EnginePreload", lambda after: app.serving_engine)
    with pytest.raises(Stop):
        app.main()
    size = re.fullmatch(r"(\d+)\s*([kmg])b", str(launched.get("max_file_size", "")).lower())
    assert size, launched.get("max_file_size")
    limit = int(size.group(1)) * 1024 ** "kmg".index(size.group(2)) * 1024
    assert limit >= common.MAX_UPLOAD_BYTES


# ---- types ------------------------------------------------------------------------------


WRONG = [
    ("programme.exe", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200), "« .exe » non pris en charge"),
    ("document.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "« .pdf » non pris en charge"),
    ("archive.zip", _zip_bytes({"besoins.csv": GOOD_CSV.encode()}), "« .zip » non pris en charge"),
    ("besoins.csv.exe", GOOD_CSV.encode(), "« .exe » non pris en charge"),
    ("\u202evsc.exe", GOOD_CSV.encode(), "« .exe » non pris en charge"),  # shown « exe.csv »
    ("besoins", GOOD_CSV.encode(), "« sans extension » non pris en charge"),
    (".csv", GOOD_CSV.encode(), "« sans extension » non pris en charge"),
    ("image.csv", PNG, "pas un fichier texte : il ressemble à une image PNG"),
    ("image.txt", PNG, "pas un fichier texte"),
    ("image.jsonl", PNG, "pas un fichier texte"),
    ("photo.csv", b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(100), "une image JPEG"),
    ("pdf.txt", b"%PDF-1.4\n1 0 obj\n", "un PDF"),
    ("binaire.csv", bytes(range(1, 256)) * 20, "pas un fichier texte"),  # no NUL, no magic
    ("classeur.csv", GOOD_XLSX, "un classeur Excel ou une archive ZIP"),
    ("ancien.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "ancien classeur Excel"),
    ("texte.xlsx", GOOD_CSV.encode(), "pas un classeur Excel lisible"),
    ("archive.xlsx", _zip_bytes({"a.txt": b"x"}), "pas un classeur Excel lisible"),
    (
        "abime.xlsx",
        _zip_bytes({"[Content_Types].xml": b"<Types", "xl/workbook.xml": b"<<<"}),
        "pas un classeur Excel lisible",
    ),
    ("vide.csv", b"", "est vide"),
    ("vide.jsonl", b"", "est vide"),
    ("vide.txt", b"", "aucun besoin"),
    ("vide.xlsx", b"", "pas un classeur Excel lisible"),
    ("blancs.csv", b"\n;;\n  ;\n", "est vide"),
]


@pytest.mark.parametrize(("name", "data", "expected"), WRONG, ids=[w[0] for w in WRONG])
def test_wrong_types_are_refused_in_french(holder, own_tmp, tmp_path, name, data, expected):
    path = gradio_upload(tmp_path / "gradio", name, data)
    out, message = run(holder, str(path))
    _refused(out, message)
    plain = message.replace("\\", "")
    assert plain.startswith("Rapport impossible : ") and expected in plain
    if "non pris en charge" in expected or "pas un fichier texte" in expected:
        assert all(suffix in plain for suffix in ACCEPTED)  # says which types are accepted
    assert list(own_tmp.iterdir()) == []  # nothing produced, not even an empty directory


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("besoins.csv", GOOD_CSV.encode()),
        ("excel.csv", GOOD_CSV.replace("\n", "\r\n").encode("cp1252")),
        ("unicode.csv", GOOD_CSV.replace(";", "\t").encode("utf-16")),  # Excel « Texte Unicode »
        ("besoins.TXT", f"{NEED}\n\njardin partagé\n".encode()),
        ("besoins.jsonl", b'{"besoin": "jardin partag\\u00e9"}\n"seniors isol\\u00e9s"\n'),
        ("besoins.xlsx", GOOD_XLSX),
        ("dos.txt", f"{NEED}\r\n\x1a".encode()),  # old DOS end-of-file mark
    ],
)
def test_accepted_types_give_a_report(holder, own_tmp, tmp_path, name, data):
    path = gradio_upload(tmp_path / "gradio", name, data)
    out, message = run(holder, str(path))
    assert out is not None and message.startswith("Rapport prêt"), message
    assert Path(out).is_file() and Path(out).is_relative_to(own_tmp)


def test_a_missing_column_points_to_the_app_field(holder, own_tmp, tmp_path):
    path = gradio_upload(tmp_path / "gradio", "c.csv", b"Centre;Texte;Lieu\nA;jardin;B\n")
    out, message = run(holder, str(path))
    _refused(out, message)
    assert "Colonne des besoins" in message and "« Centre », « Texte », « Lieu »" in message


# ---- names and paths ---------------------------------------------------------------------

HOSTILE_NAMES = [
    "../../etc/passwd.csv",
    "..\\..\\windows\\win.ini.csv",
    "/etc/cron.d/besoins.csv",
    "dossier/sous-dossier/besoins.csv",
    "nul\x00byte.csv",
    "<script>alert(1)</script>.csv",
    "*besoins* [x](javascript:alert(1)).csv",
    "é" * 300 + ".csv",
    "$(touch pwned)`id`.csv",
    "rapport.csv",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
@pytest.mark.parametrize("fmt", ["HTML", "Excel", "CSV", "Markdown", "../../etc/x", "x\x00/y"])
def test_only_the_upload_is_read_and_the_report_name_is_ours(holder, own_tmp, tmp_path, name, fmt):
    cache = tmp_path / "gradio"
    path = gradio_upload(cache, name, GOOD_CSV.encode())
    assert path.parent.parent == cache  # Gradio keeps the base name only
    column = "../../../etc/passwd" if fmt == "CSV" else ""
    with touched() as events:
        out, message = run(holder, str(path), column=column, fmt=fmt)
    if column:  # a column name is looked for among the file's columns, never opened
        _refused(out, message)
        assert "« ../../../etc/passwd » absente" in message.replace("\\", "")
        assert list(own_tmp.iterdir()) == []
    else:
        assert out is not None and message.startswith("Rapport prêt"), message
        out = Path(out)
        suffix = common.FORMATS.get(fmt, ".html")
        assert out.name == f"rapport{suffix}"  # generated, nothing from the user's name
        assert out.parent.parent == own_tmp and out.parent.name.startswith("reco-report-")
        assert [p.name for p in own_tmp.iterdir()] == [out.parent.name]
        assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left
    for event, touched_path in events:
        where = Path(touched_path).resolve()
        if _code_or_library(where):
            continue
        if where == path.resolve():
            assert event in {"open:r", "open:rb"}, (event, touched_path)  # read, never written
            continue
        assert out is not None and where.is_relative_to(own_tmp.resolve()), (event, touched_path)


@pytest.mark.parametrize(
    "make",
    ["deleted", "directory", "dangling-link", "too-long", "nul", "outside"],
)
def test_a_vanished_or_impossible_upload_path_is_a_french_message(holder, own_tmp, tmp_path, make):
    cache = tmp_path / "gradio"
    path = gradio_upload(cache, "besoins.csv", GOOD_CSV.encode())
    if make == "deleted":  # Gradio's cache was cleaned between upload and click
        path.unlink()
        target = str(path)
    elif make == "directory":
        target = str(path.parent)
    elif make == "dangling-link":
        link = cache / "lien.csv"
        link.symlink_to(tmp_path / "absent.csv")
        target = str(link)
    elif make == "too-long":
        target = str(cache / ("x" * 300 + ".csv"))
    elif make == "nul":
        target = str(cache / "a\x00b.csv")
    else:
        target = str(cache / "nowhere" / ".." / ".." / "absent.csv")
    out, message = run(holder, target)
    _refused(out, message)
    assert message == "Le fichier déposé est introuvable : déposez-le à nouveau."
    assert list(own_tmp.iterdir()) == []
    for empty in (None, ""):
        assert run(holder, empty)[1].startswith("Choisissez d'abord un fichier")


def test_gradio_only_hands_over_paths_in_its_cache():
    """What the handler relies on: Gradio refuses file paths sent by a client that are not
    in its upload cache, so `path` is always Gradio's own copy."""
    from gradio.exceptions import Error

    for path in ("/etc/passwd", str(ROOT / "data" / "actions.jsonl"), "/tmp/gradio/../x.csv"):
        with pytest.raises(Error, match="cannot be accessed"):
            check_all_files_in_cache({"path": path, "meta": {"_type": "gradio.FileData"}})


@pytest.mark.parametrize("top", [float("nan"), float("inf"), 0, -3, 11, 1e9, "5", None])
def test_a_bad_number_of_actions_is_a_french_message(holder, own_tmp, tmp_path, top):
    path = gradio_upload(tmp_path / "gradio", "besoins.csv", GOOD_CSV.encode())
    out, message = run(holder, str(path), top=top)
    _refused(out, message)
    assert "entre 1 et 10" in message


# ---- files built to exhaust the server -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("lignes.txt", b"x\n" * (3 * 1024 * 1024)),  # 6 MB, 3 million needs
        ("lignes.csv", b"besoin\n" + b"x\n" * (3 * 1024 * 1024)),
        ("vides.csv", b"besoin\n" + b"\n" * (8 * 1024 * 1024)),  # 8 million blank lines
        ("lignes.jsonl", b'"x"\n' * (2 * 1024 * 1024)),
    ],
)
def test_millions_of_lines_are_refused_quickly(holder, own_tmp, tmp_path, name, data):
    path = gradio_upload(tmp_path / "gradio", name, data)
    started = time.perf_counter()
    out, message = run(holder, str(path))
    _refused(out, message)
    assert "plus de" in message and f"{MAX_NEEDS} besoins" in message
    assert time.perf_counter() - started < 5  # was 30 s and 2.5 GB for a 10 MB file
    assert MAX_ROWS < MAX_LINES


def test_an_xlsx_that_inflates_is_refused_before_parsing(holder, own_tmp, tmp_path):
    book = io.BytesIO(GOOD_XLSX)
    with zipfile.ZipFile(book, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(60 * 1024 * 1024))  # 60 MB of zeros
    data = book.getvalue()
    assert len(data) < common.MAX_UPLOAD_BYTES
    path = gradio_upload(tmp_path / "gradio", "bombe.xlsx", data)
    out, message = run(holder, str(path))
    _refused(out, message)
    assert "une fois décompressé" in message and "50 Mo" in message


# ---- fuzzing ------------------------------------------------------------------------------

PIECES = st.sampled_from(
    ["besoin", "need", ";", ",", "\t", "\n", "\r\n", '"', "'", "jardin", "\x00", "\x1a", "\ufeff",
     "=cmd|' /C calc'!A0", "<script>alert(1)</script>", "{", "}", "[", "]", ":", "é", "\u202e"]
)  # fmt: skip
TEXTISH = st.lists(st.one_of(PIECES, st.text(max_size=20)), max_size=60).map("".join)
CONTENT = st.one_of(
    st.binary(max_size=2000),
    TEXTISH.map(lambda t: t.encode("utf-8", "surrogatepass")),
    TEXTISH.map(lambda t: t.encode("cp1252", "replace")),
    TEXTISH.map(lambda t: t.encode("utf-16")),
    st.tuples(st.sampled_from([b"PK\x03\x04", b"%PDF-", b"\x89PNG", b"\xff\xfe"]), st.binary()).map(
        b"".join
    ),
)


def _mutated_xlsx(entry: str, data: bytes) -> bytes:
    """The good workbook with one of its parts replaced."""
    source = zipfile.ZipFile(io.BytesIO(GOOD_XLSX))
    return _zip_bytes({n: data if n == entry else source.read(n) for n in source.namelist()})


XLSX_PARTS = zipfile.ZipFile(io.BytesIO(GOOD_XLSX)).namelist()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.tuples(st.sampled_from([*SUPPORTED, ".exe", ""]), CONTENT),
        st.tuples(
            st.just(".xlsx"),
            st.builds(_mutated_xlsx, st.sampled_from(XLSX_PARTS), CONTENT),
        ),
    )
)
def test_needs_file_fuzz_raises_only_french_report_errors(case):
    suffix, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            needs = read_needs(path)
        except ReportError as exc:
            assert str(exc).strip()
            return
    assert 0 < len(needs.needs) <= MAX_NEEDS
    assert all(n.text == n.text.strip() and n.text for n in needs.needs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ACCEPTED), CONTENT, st.text(max_size=30))
def test_report_handler_fuzz_never_fails_unexpectedly(fake_engine, suffix, data, column):
    holder = common.EngineHolder(lambda: fake_engine)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        out, message = run(holder, str(path), column=column)
        assert message and message != common.UNEXPECTED
        if out is None:
            assert message.startswith(("Rapport impossible : ", "Le nombre")), message
        else:
            assert Path(out).name == "rapport.html" and message.startswith("Rapport prêt")
            Path(out).unlink()
            Path(out).parent.rmdir()


def test_the_warm_up_fits_the_statement_themes_and_caches_their_vectors(fake_engine):
    from recommender.answers.themes import themes_for

    assert fake_engine.statement_cache is not None
    common.EngineHolder(lambda: fake_engine).warm().join(timeout=120)
    themes = themes_for(fake_engine)
    assert set(themes._models) == {"limite", "perspective"}, "fitted before any answer"
    assert any(fake_engine.statement_cache.rglob("*")), "vectors kept on disk for next start"
