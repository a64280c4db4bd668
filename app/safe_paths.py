"""Paths and project files: nothing a project says becomes a path unchecked.

A ``.comic`` file comes from whoever sent it. Its ids and names never become parts of file names
(:func:`safe_file_name`), every file the app writes must resolve inside the folder it belongs to
(:func:`inside`), and files a project names (a card's LoRA, ``--sref/--cref/--oref`` images in a
stored prompt, the model setting) are read only from the project's folder or the models folder
unless the user allowed it (:func:`resolve_named`). Only regular files are opened
(:func:`check_regular`): a FIFO or a device would block a read forever.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

SLUG_CHARS = 40
HASH_CHARS = 12


class OutsidePathError(ValueError):
    """A path the project names lies outside its folder and the models folder (one line).

    The message is the same whether the file exists or not, so it tells the project's author nothing.
    """

    def __init__(self, name: str) -> None:
        shown = name if len(name) <= 120 else name[:117] + "..."
        super().__init__(f"the project names a file outside its folder and the models folder: {shown!r}; "
                         f"allow it with --allow-outside-paths")


def slug(text: str, fallback: str = "item") -> str:
    """Lower-case letters, digits and dashes only (at most :data:`SLUG_CHARS`)."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:SLUG_CHARS].strip("-")
    return out or fallback


def safe_file_name(name: str, key: str, suffix: str, fallback: str = "item") -> str:
    """``<slug of name>-<hash of key><suffix>``: a file name no project string can steer."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{slug(name, fallback)}-{digest}{suffix}"


def is_inside(folder: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Whether ``path`` (symlinks and ``..`` resolved) lies inside ``folder``."""
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def inside(folder: str | os.PathLike, path: str | os.PathLike) -> Path:
    """``path`` if it resolves inside ``folder``; else ValueError (for paths the app writes)."""
    if not is_inside(folder, path):
        raise ValueError(f"refusing to write {Path(path).name!r}: it would land outside {Path(folder)}")
    return Path(path)


# Project folders whose project may name files anywhere: the user said so (``--allow-outside-paths``
# on the command line, a stored per-project yes in the window).
_CONSENTED: set[str] = set()


def allow_outside(project_dir: str | os.PathLike) -> None:
    """Let projects in ``project_dir`` name files outside it and the models folder (the user consented)."""
    _CONSENTED.add(os.path.realpath(project_dir))


def outside_allowed(project_dir: str | os.PathLike | None) -> bool:
    return project_dir is not None and os.path.realpath(project_dir) in _CONSENTED


def resolve_named(name: str, project_dir: str | os.PathLike | None, models_dir: str | os.PathLike | None = None,
                  allow_outside: bool = False, models_subfolders: tuple[str, ...] = ()) -> Path:
    """The file a project names, as a path: relative names are taken from the project's folder
    (then the models folder and ``models_subfolders`` of it). Unless ``allow_outside`` (or the user
    consented for this project folder), the result must resolve inside the project's folder or the
    models folder, else :class:`OutsidePathError`. A document with no folder (never saved, so
    written by the user in this session, not read from a file) is not confined.
    """
    allow_outside = allow_outside or project_dir is None or outside_allowed(project_dir)
    raw = Path(name).expanduser()
    roots = [Path(r) for r in (project_dir, models_dir) if r]
    candidates: list[Path] = []
    if raw.is_absolute():
        candidates.append(raw)
    else:
        if project_dir:
            candidates.append(Path(project_dir) / raw)
        if models_dir:
            candidates += [Path(models_dir) / raw] + [Path(models_dir) / sub / raw for sub in models_subfolders]
        if not candidates:
            candidates.append(raw)
    chosen = next((c for c in candidates if _exists(c) and (allow_outside or _inside_any(roots, c))),
                  candidates[0])
    if not allow_outside and not _inside_any(roots, chosen):
        raise OutsidePathError(name)
    return chosen


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _inside_any(roots: list[Path], path: Path) -> bool:
    return any(is_inside(root, path) for root in roots)


def check_regular(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` if it names a regular file (symlinks followed); OSError otherwise, without opening it.

    FileNotFoundError when it does not exist; a FIFO, socket, device or folder is refused."""
    path = Path(path)
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise OSError(f"{what} {path} is {kind}")
    return path


def default_models_dir() -> Path:
    from engine.registry import default_models_dir as models_dir

    return models_dir()


def looks_like_path(name: str) -> bool:
    """Whether a model setting is a path (rather than a name looked up in the models folder)."""
    return (os.path.isabs(name) or "/" in name or "\\" in name or name.startswith(("~", "."))
            or os.sep in name)


def resolve_model_setting(name: str, project_dir: str | os.PathLike | None,
                          models_dir: str | os.PathLike | None) -> str:
    """The project's model setting, confined like any other path it names (a bare model name is
    looked up in the models folder by the registry and passes unchanged)."""
    if not name or not looks_like_path(name):
        return name
    return str(resolve_named(name, project_dir, models_dir or default_models_dir()))


def outside_names(project, project_dir: str | os.PathLike | None,
                  models_dir: str | os.PathLike | None = None) -> list[str]:
    """The paths a project names that lie outside its folder and the models folder (for the
    window's consent question): cards' LoRAs and models, the model setting, prompt image refs."""
    from engine.jobs import EngineError
    from engine.prompt_flags import parse_prompt

    models_dir = models_dir or default_models_dir()
    names: list[str] = []
    for card in [*project.characters, *project.styles]:
        names += [n for n in (card.lora, getattr(card, "model", None)) if n]
    model = project.settings.get("model") if isinstance(project.settings, dict) else None
    if isinstance(model, str) and looks_like_path(model):
        names.append(model)
    for page in project.pages:
        for panel in page.panels:
            if "--" in panel.prompt:
                try:
                    flags = parse_prompt(panel.prompt)
                except (EngineError, ValueError):
                    continue
                names += [ref.ref for ref in [*flags.sref, *flags.character_refs]]
    out = []
    for name in dict.fromkeys(names):
        try:
            resolve_named(name, project_dir, models_dir, models_subfolders=("loras",))
        except OutsidePathError:
            out.append(name)
    return out
