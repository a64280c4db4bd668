"""Script import and update timings: a 48-page script imported into a new book, then re-read after an
edit (changed descriptions and lettering, one panel added per page). Goal: under 2 s each. JSON last.

    python bench/script.py [--pages 48] [--panels 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.document import Document  # noqa: E402
from app.script.importer import import_script  # noqa: E402
from tests.helpers_script import long_script  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=48)
    parser.add_argument("--panels", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    first = long_script(args.pages, args.panels)
    edited = long_script(args.pages, args.panels + 1, seed_word=" (revised)")
    imports, updates = [], []
    for _ in range(args.repeat):
        doc = Document()
        start = time.perf_counter()
        summary = import_script(doc, first, source="bench.txt")
        imports.append(time.perf_counter() - start)
        start = time.perf_counter()
        updated = import_script(doc, edited, source="bench.txt", update=True)
        updates.append(time.perf_counter() - start)
    assert summary["pages"] == args.pages and updated["added_panels"] == args.pages
    result = {"pages": args.pages, "panels": summary["panels"], "balloons": summary["balloons"],
              "updated_panels": updated["updated_panels"], "added_panels": updated["added_panels"],
              "import_s": round(min(imports), 3), "update_s": round(min(updates), 3),
              "goal_s": 2.0, "ok": max(min(imports), min(updates)) < 2.0}
    print(f"import {result['import_s']:.3f} s, update {result['update_s']:.3f} s for {args.pages} pages")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
