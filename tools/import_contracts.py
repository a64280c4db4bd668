"""A custom import-linter contract: forbid submodules of an external package (e.g. PySide6.QtWidgets).

import-linter's ``forbidden`` contract sees an external package only as a whole (``PySide6``), so
this contract reads the import lines it records to tell ``PySide6.QtWidgets`` from ``PySide6.QtCore``.
"""

from __future__ import annotations

from importlinter import Contract, ContractCheck, fields, output


class ForbiddenExternalSubmodules(Contract):
    """``source_modules`` (and their descendants) import none of ``forbidden_modules``, which are
    submodules of external packages; ``ignore_imports`` lists ``importer -> forbidden.module`` exceptions."""

    source_modules = fields.ListField(subfield=fields.StringField())
    forbidden_modules = fields.ListField(subfield=fields.StringField())
    ignore_imports = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def check(self, graph, verbose: bool) -> ContractCheck:
        ignored = {tuple(part.strip() for part in item.split("->")) for item in self.ignore_imports}
        violations = []
        for source in self.source_modules:
            importers = {source} | graph.find_descendants(source)
            for importer in sorted(importers):
                for forbidden in self.forbidden_modules:
                    package = forbidden.split(".")[0]
                    for detail in graph.get_import_details(importer=importer, imported=package):
                        if _names(detail["line_contents"], forbidden) and (importer, forbidden) not in ignored:
                            violations.append((importer, forbidden, detail["line_number"], detail["line_contents"]))
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, forbidden, line, contents in check.metadata["violations"]:
            output.print_error(f"{importer} imports {forbidden} (l.{line}: {contents})")


def _names(line: str, module: str) -> bool:
    """Whether an import line imports ``module`` (``import a.b``, ``from a.b import x``, ``from a import b``)."""
    words = line.replace(",", " ").split()
    if module in words:
        return True
    parent, _, name = module.rpartition(".")
    return len(words) > 3 and words[0] == "from" and words[1] == parent and name in words[3:]
