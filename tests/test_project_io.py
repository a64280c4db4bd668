"""Project files: round trip, schema migration, hostile files, atomic save and kills during save."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import edits, project_io
from app.document import Document
from app.layout import PAGE_SIZES
from app.project import SCHEMA_VERSION, BalloonKind, Rect
from app.project_io import MIMETYPE, ProjectFileError, ProjectSaveError, load_project, save_project
from tests.helpers_project import (FullDisk, key_of, kill_while_saving, paused_writer, pruned, random_document, read_manifest, rewrite_manifest, solid_png,
                                   tiny_png, write_comic)

ROOT = Path(__file__).resolve().parent.parent


def sample_doc() -> Document:
    doc = Document()
    page = edits.add_page(doc, PAGE_SIZES["A4"], "grid-2x2")
    panels = [p.id for p in doc.project.page(page).panels]
    edits.add_variant(doc, panels[0], solid_png((200, 30, 30)), seed=7)
    card = edits.add_card(doc, "character", "Ann", [solid_png((10, 200, 10))])
    style = edits.add_card(doc, "style", "Ink", [solid_png((0, 0, 0))])
    edits.bind_card(doc, panels[0], card, 40)
    edits.bind_card(doc, panels[1], style, 700)
    edits.add_balloon(doc, page, BalloonKind.SPEECH, Rect(20, 20, 40, 20), "Hello", tail=(30, 60))
    return doc


# --- round trip --------------------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(0, 40))
def test_round_trip_random_documents(tmp_path, seed, n_ops):
    doc = random_document(seed, n_ops)
    path = tmp_path / "r.comic"
    save_project(doc.project, path)
    loaded = load_project(path)
    assert loaded == pruned(doc.project)
    save_project(loaded, path)  # and again, from what was loaded
    assert load_project(path) == loaded


def test_container_layout(tmp_path):
    doc = sample_doc()
    doc.project.images["f" * 24] = solid_png((1, 2, 3))  # unreferenced: pruned from the file
    path = save_project(doc.project, tmp_path / "a.comic")
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == MIMETYPE.encode()
        # OpenRaster-style: the mimetype can be read at a fixed offset of the file
        assert path.read_bytes()[30:38] == b"mimetype"
        names = zf.namelist()
        assert "manifest.json" in names and "thumbnail.png" in names
        image_entries = [i for i in infos if i.filename.startswith("images/")]
        assert {i.filename for i in image_entries} == {f"images/{k}.png" for k in doc.project.referenced_images()}
        assert all(i.compress_type == zipfile.ZIP_STORED for i in image_entries)
        thumb = zf.read("thumbnail.png")
    from PIL import Image
    assert max(Image.open(io.BytesIO(thumb)).size) in range(250, 262)
    manifest = read_manifest(path)
    assert manifest["schema"] == SCHEMA_VERSION
    assert project_io.read_thumbnail(path) == thumb


def test_save_keeps_backup_and_file_mode(tmp_path):
    path = tmp_path / "a.comic"
    doc = sample_doc()
    save_project(doc.project, path)
    os.chmod(path, 0o640)
    first = path.read_bytes()
    edits.set_project_attrs(doc, title="second")
    save_project(doc.project, path)
    backup = tmp_path / "a.comic.bak"
    assert backup.read_bytes() == first
    assert load_project(path).title == "second"
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.comic", "a.comic.bak"]  # no temp files left


# --- schema 1 ----------------------------------------------------------------------------------------------

def test_migrates_schema_1(tmp_path):
    art, ref = solid_png((200, 0, 0)), solid_png((0, 0, 200))
    manifest = {
        "schema": 1, "title": "Old", "dpi": 300,
        "pages": [{"id": "page-1", "width_mm": 210, "height_mm": 297, "gutter_mm": 4,
                   "panels": [{"id": "panel-1", "rect": [10, 10, 90, 60], "prompt": "a cat", "image": key_of(art),
                               "characters": [{"card": "char-1", "cw": 30}], "styles": [{"card": "style-1", "sw": 500}]},
                              {"id": "panel-2", "rect": [10, 80, 90, 60]}],
                   "balloons": [{"id": "b-1", "kind": "speech", "rect": {"x": 5, "y": 5, "w": 30, "h": 15},
                                 "text": "Hi", "tail": [20, 40]}]}],
        "characters": [{"id": "char-1", "name": "Cat", "references": [key_of(ref)]}],
        "styles": [{"id": "style-1", "name": "Ink", "references": []}],
    }
    path = write_comic(tmp_path / "old.comic", manifest, {key_of(art): art, key_of(ref): ref})
    project = load_project(path)
    page = project.pages[0]
    p1, p2 = page.panels
    assert p1.points == [(10.0, 10.0), (100.0, 10.0), (100.0, 70.0), (10.0, 70.0)] and p1.is_rect
    assert p1.image == key_of(art) and len(p1.variants) == 1 and p1.current == p1.variants[0].id
    assert p2.image is None and p2.variants == []
    assert [(b.card, b.weight) for b in p1.characters] == [("char-1", 30)]
    assert [(b.card, b.weight) for b in p1.styles] == [("style-1", 500)]
    assert project.characters[0].references[0].image == key_of(ref)
    assert page.balloons[0].tail == (20.0, 40.0) and page.gutter_mm == 4.0
    # and it saves as the current schema
    save_project(project, tmp_path / "new.comic")
    assert read_manifest(tmp_path / "new.comic")["schema"] == SCHEMA_VERSION
    assert load_project(tmp_path / "new.comic") == project


# --- hostile and broken files ------------------------------------------------------------------------------

def _saved(tmp_path: Path) -> Path:
    return save_project(sample_doc().project, tmp_path / "good.comic")


def _patch_central_size(path: Path, entry: str, size: int) -> None:
    """Rewrite the declared uncompressed size of ``entry`` in the zip's central directory."""
    data = bytearray(path.read_bytes())
    name = entry.encode()
    i = 0
    while True:
        i = data.index(b"PK\x01\x02", i)
        n = struct.unpack_from("<H", data, i + 28)[0]
        if bytes(data[i + 46:i + 46 + n]) == name:
            struct.pack_into("<I", data, i + 24, size)
            break
        i += 4
    path.write_bytes(bytes(data))


def _hostile_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name → (file, a fragment the one-line message must contain)."""
    good = _saved(tmp_path)
    png = solid_png((9, 9, 9))
    cases: dict[str, tuple[Path, str]] = {}

    def case(name: str, path: Path, fragment: str) -> None:
        cases[name] = (path, fragment)

    p = tmp_path / "text.comic"
    p.write_text("hello, I am not a zip\n")
    case("not a zip", p, "not a zip")
    p = tmp_path / "empty.comic"
    p.write_bytes(b"")
    case("empty", p, "not a zip")
    p = tmp_path / "truncated.comic"
    p.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    case("truncated", p, "truncated")
    p = tmp_path / "cut-tail.comic"
    p.write_bytes(good.read_bytes()[:-10])
    case("cut tail", p, "truncated")
    case("absolute name", write_comic(tmp_path / "abs.comic", {"schema": 2}, extra=[("/etc/evil", b"x")]), "unsafe entry")
    case("dotdot name", write_comic(tmp_path / "dots.comic", {"schema": 2}, extra=[("images/../../evil.png", b"x")]),
         "unsafe entry")
    case("backslash name", write_comic(tmp_path / "bs.comic", {"schema": 2}, extra=[("..\\evil", b"x")]),
         "unsafe entry")
    p = write_comic(tmp_path / "big.comic", {"schema": 2}, {"a" * 24: png})
    _patch_central_size(p, f"images/{'a' * 24}.png", 0xF0000000)
    case("oversized", p, "oversized")
    bomb = tmp_path / "bomb.comic"
    with zipfile.ZipFile(bomb, "w") as zf:
        zf.writestr("mimetype", MIMETYPE)
        zf.writestr("manifest.json", json.dumps({"schema": 2}))
        zf.writestr("images/" + "b" * 24 + ".png", b"\0" * (20 * 1024 * 1024), compress_type=zipfile.ZIP_DEFLATED)
    case("zip bomb", bomb, "zip bomb")
    case("newer schema", rewrite_manifest(good, tmp_path / "newer.comic", lambda m: m.update(schema=99)),
         "newer Panelsmith")
    case("no schema", rewrite_manifest(good, tmp_path / "noschema.comic", lambda m: m.pop("schema")), "schema")
    case("invalid json", write_comic(tmp_path / "json.comic", b"{\"schema\": 2, \"pages\": [}"), "not valid JSON")
    case("NaN in json", write_comic(tmp_path / "nan.comic", b"{\"schema\": 2, \"dpi\": NaN}"), "not valid JSON")
    case("not an object", write_comic(tmp_path / "list.comic", b"[1, 2]"), "not a JSON object")
    case("wrong type", rewrite_manifest(good, tmp_path / "type.comic",
                                        lambda m: m["pages"][0]["panels"][0].update(points="abc")), "expected a list")
    case("wrong number type", rewrite_manifest(good, tmp_path / "dpi.comic", lambda m: m.update(dpi="high")),
         "expected an integer")
    case("bad enum", rewrite_manifest(good, tmp_path / "enum.comic",
                                      lambda m: m["pages"][0].update(reading_order="sideways")), "reading_order")
    case("missing image", rewrite_manifest(good, tmp_path / "missing.comic",
                                           lambda m: m["pages"][0]["panels"][0]["variants"][0].update(image="c" * 24)),
         "missing image")
    case("unknown card", rewrite_manifest(good, tmp_path / "card.comic",
                                          lambda m: m["pages"][0]["panels"][0]["characters"][0].update(card="nope")),
         "unknown character card")
    case("absurd geometry", rewrite_manifest(good, tmp_path / "geo.comic",
                                             lambda m: m["pages"][0]["panels"][0].update(points=[[0, 0], [1e9, 0], [0, 1e9]])),
         "off the page")
    case("degenerate panel", rewrite_manifest(good, tmp_path / "flat.comic",
                                              lambda m: m["pages"][0]["panels"][0].update(points=[[0, 0], [5, 0], [10, 0]])),
         "too small")
    case("absurd page", rewrite_manifest(good, tmp_path / "page.comic", lambda m: m["pages"][0].update(width_mm=1e12)),
         "absurd")

    def replace_image(name: str, payload: bytes) -> Path:
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(tmp_path / name, "w") as dst:
            for info in src.infolist():
                data = src.read(info)
                if info.filename.startswith("images/"):
                    data = payload(data) if callable(payload) else payload
                dst.writestr(info, data)
        return tmp_path / name

    case("corrupt png", replace_image("png.comic", b"GIF89a" + b"\0" * 100), "corrupt")
    case("truncated png", replace_image("png2.comic", lambda d: d[: len(d) // 2]), "corrupt")
    case("bad png header", replace_image("png3.comic", lambda d: d[:20] + b"\xff\xff" + d[22:]), "corrupt")
    case("no mimetype", write_comic(tmp_path / "nomime.comic", {"schema": 2}, mimetype=None), "not a Panelsmith")
    case("wrong mimetype", write_comic(tmp_path / "mime.comic", {"schema": 2}, mimetype="application/zip"),
         "not a Panelsmith")
    case("empty manifest", write_comic(tmp_path / "emptymanifest.comic", b"{}"), "no valid schema")
    with zipfile.ZipFile(tmp_path / "nomanifest2.comic", "w") as zf:
        zf.writestr("mimetype", MIMETYPE)
    case("no manifest entry", tmp_path / "nomanifest2.comic", "no manifest")
    case("folder", tmp_path, "folder")
    case("no such file", tmp_path / "nope.comic", "no such file")
    return cases


def test_hostile_files_are_refused_with_one_line(tmp_path):
    cases = _hostile_cases(tmp_path)
    for name, (path, fragment) in cases.items():
        with pytest.raises(ProjectFileError) as info:
            load_project(path)
        message = str(info.value)
        assert "\n" not in message and message.startswith("cannot open "), (name, message)
        assert fragment in message, (name, message)
        assert len(message) < 300, (name, message)


def test_hostile_files_through_cli(tmp_path, capsys):
    from app.cli import main as cli

    for name, (path, fragment) in _hostile_cases(tmp_path).items():
        code = cli.main(["info", str(path)])
        out, err = capsys.readouterr()
        assert code == 2, name
        assert out == ""
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot open "), (name, err)
        assert fragment in lines[0] and "Traceback" not in err


@pytest.mark.parametrize("case", ["truncated", "zip bomb", "newer schema"])
def test_hostile_files_through_main_py(tmp_path, case):
    path, fragment = _hostile_cases(tmp_path)[case]
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "info", str(path)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and fragment in proc.stderr


def test_total_size_cap(tmp_path, monkeypatch):
    path = _saved(tmp_path)
    monkeypatch.setattr(project_io, "MAX_TOTAL_BYTES", 1000)
    with pytest.raises(ProjectFileError, match="add up to"):
        load_project(path)


def test_load_does_not_decode_pixels(tmp_path, monkeypatch):
    path = _saved(tmp_path)
    import PIL.Image

    def boom(*a, **k):
        raise AssertionError("load_project decoded an image")
    monkeypatch.setattr(PIL.Image, "open", boom)
    assert load_project(path).pages


# --- failed saves ------------------------------------------------------------------------------------------

def _two_versions(tmp_path: Path):
    doc = sample_doc()
    path = tmp_path / "a.comic"
    save_project(doc.project, path)
    old = load_project(path)
    old_bytes = path.read_bytes()
    edits.add_variant(doc, doc.project.pages[0].panels[1].id, tiny_png(__import__("random").Random(1), (300, 300)))
    return doc, path, old, old_bytes


@pytest.mark.parametrize("failure", ["disk full", "fsync", "replace", "backup"])
def test_failed_save_leaves_old_file(tmp_path, monkeypatch, failure):
    doc, path, old, old_bytes = _two_versions(tmp_path)
    if failure == "disk full":
        monkeypatch.setattr(project_io, "_open_for_write", lambda fd: FullDisk(fd, 5000))
    elif failure == "fsync":
        def bad_fsync(fd):
            raise OSError(errno.EIO, "Input/output error")
        monkeypatch.setattr(project_io.os, "fsync", bad_fsync)
    elif failure == "replace":
        real = os.replace

        def bad_replace(src, dst):
            if Path(dst) == path:
                raise OSError(errno.EACCES, "Permission denied")
            return real(src, dst)
        monkeypatch.setattr(project_io.os, "replace", bad_replace)
    else:
        def bad_copy(*a, **k):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(project_io.os, "link", bad_copy)
        monkeypatch.setattr(project_io.shutil, "copyfile", bad_copy)
    with pytest.raises(ProjectSaveError) as info:
        save_project(doc.project, path)
    message = str(info.value)
    assert "\n" not in message and "could not save a.comic" in message and "unchanged" in message
    if failure == "disk full":
        assert "disk is full" in message
    assert path.read_bytes() == old_bytes
    assert load_project(path) == old
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_file_size_limit_in_subprocess(tmp_path):
    """A real write failure (RLIMIT_FSIZE) in a separate process: old file intact, clear error."""
    doc, path, old, old_bytes = _two_versions(tmp_path)
    edits.add_variant(doc, doc.project.pages[0].panels[2].id, tiny_png(__import__("random").Random(2), (600, 600)))
    big = tmp_path / "big.comic"
    save_project(doc.project, big)
    script = textwrap.dedent(f"""
        import resource, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from app.project_io import load_project, save_project, ProjectSaveError
        project = load_project({str(big)!r})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(old_bytes) + 20000}, resource.RLIM_INFINITY))
        try:
            save_project(project, {str(path)!r}, thumbnail=False)
        except ProjectSaveError as exc:
            print(exc)
            sys.exit(3)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 3, proc.stderr
    assert "could not save a.comic" in proc.stdout
    assert path.read_bytes() == old_bytes and load_project(path) == old


def test_sigkill_during_save(tmp_path):
    """Kill the saving process while it writes: the old file still loads and the backup is there."""
    doc, path, old, old_bytes = _two_versions(tmp_path)
    save_project(old, path)  # second save: a backup now exists
    old_bytes = path.read_bytes()
    backup = tmp_path / "a.comic.bak"
    assert backup.exists()
    new = tmp_path / "new.comic"
    save_project(doc.project, new)
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from app import project_io
        project = project_io.load_project({str(new)!r})
    """) + paused_writer("self.n == 3") + textwrap.dedent(f"""
        project_io._open_for_write = Slow
        project_io.save_project(project, {str(path)!r}, thumbnail=False)
    """)

    def writing_a_temporary_file() -> None:
        temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert temps, "the save should be writing a temporary file"
    assert kill_while_saving(script, writing_a_temporary_file) == -signal.SIGKILL
    assert path.read_bytes() == old_bytes
    assert load_project(path) == old
    assert load_project(backup) == old
    # the next save works; the killed save's temporary file is removed once it is old
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".a.comic.") and p.name.endswith(".tmp")]
    assert len(leftovers) == 1
    save_project(doc.project, path)
    assert load_project(path) == pruned(doc.project)
    assert leftovers[0].exists()  # recent: it could belong to a save still running elsewhere
    old_time = time.time() - 2 * project_io.STALE_TEMP_S
    os.utime(leftovers[0], (old_time, old_time))
    save_project(doc.project, path)
    assert not leftovers[0].exists()
