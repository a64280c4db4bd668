"""``info`` reads the manifest and PNG headers only; stored scores are reported without face models."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from app import edits
from app.document import Document
from app.layout import PAGE_SIZES
from app.project_io import save_project
from tests.helpers_project import solid_png

ROOT = Path(__file__).resolve().parent.parent


def _scored_book(path: Path) -> tuple[str, str]:
    doc = Document()
    card = edits.add_card(doc, "character", "Ann", [solid_png((10, 200, 10))])
    for _ in range(3):
        page = edits.add_page(doc, PAGE_SIZES["A4"], "2-tier")
        for panel in doc.project.page(page).panels:
            edits.add_variant(doc, panel.id, solid_png((200, 30, len(doc.project.images))),
                              params={"identity": [{"card": card, "score": 0.71}]})
            edits.bind_card(doc, panel.id, card, 80)
    save_project(doc.project, path)
    return card, doc.project.pages[0].panels[0].id


def test_info_with_stored_scores_loads_no_face_code_and_reads_no_image(tmp_path):
    path = tmp_path / "book.comic"
    card, first = _scored_book(path)
    code = textwrap.dedent(f"""
        import json, sys
        from app.image_store import ImageStore
        def whole(self, key):
            raise AssertionError("info read a whole image")
        ImageStore.__getitem__ = whole
        from app.cli.main import main
        assert main(["info", {str(path)!r}]) == 0
        faces = sorted(m for m in sys.modules if m.startswith(("engine.faces", "app.identity", "onnx", "torch")))
        print(json.dumps(faces))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == []
    info = json.loads("\n".join(lines[:-1]))
    panels = [p for page in info["pages"] for p in page["panels"]]
    assert len(panels) == 6 and all(p["identity"] == [{"card": card, "score": 0.71}] for p in panels)
    assert panels[0]["id"] == first and panels[0]["image"] == {"width": 64, "height": 48}


def test_info_imports_no_numpy_pil_or_qt(tmp_path):
    """``main.py info`` (the entry point a person types) imports the standard library and the
    document code only: no numpy, no Pillow, no Qt (their imports were most of its time)."""
    path = tmp_path / "book.comic"
    _scored_book(path)
    code = textwrap.dedent(f"""
        import json, sys
        sys.argv = ["main.py", "info", {str(path)!r}]
        import main
        assert main.main(sys.argv[1:]) == 0
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "PIL", "PySide6", "shiboken6",
                                                                              "scipy", "torch"))))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == []
    assert len(json.loads("\n".join(lines[:-1]))["pages"]) == 3
