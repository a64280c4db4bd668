"""The project manifest: dataclasses ⇄ JSON-ready dicts, strictly typed, with schema migrations.

Encoding follows the dataclasses in :mod:`app.project` field by field, so a field added there is saved
without touching this module. Decoding checks every value against the field's type hint and
reports the first problem as a path such as ``pages[0].panels[2].points[1]``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
import threading
import types
import typing
from typing import Any, Callable

from . import layout, limits
from .project import SCHEMA_VERSION, CharacterCard, Page, Panel, Project, Rect, StyleCard, Variant

MAX_DEPTH = 32


class ManifestError(ValueError):
    """The manifest does not describe a valid project (one-line message)."""


# --- encoding --------------------------------------------------------------------------------------------

_PLAIN = frozenset((str, int, bool, type(None)))
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass type (None for other types), looked up once per type."""
    try:
        return _FIELDS[cls]
    except KeyError:
        names = tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None
        _FIELDS[cls] = names
        return names


def encode(obj: Any) -> Any:
    """A JSON-ready value for a model object (dataclasses become dicts, enums their values)."""
    cls = type(obj)
    if cls in _PLAIN:
        return obj
    if cls is list or cls is tuple:
        return [encode(v) for v in obj]
    names = _field_names(cls)
    if names is not None:
        return {name: encode(getattr(obj, name)) for name in names}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [encode(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): encode(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError("the project holds a non-finite number")
    return obj


def project_to_manifest(project: Project, encodings: PageEncodings | None = None) -> dict:
    """The manifest dict of a project (images are listed by key with their pixel size); the pages
    from ``encodings`` when given (see :class:`PageEncodings`)."""
    from .image_store import image_header, png_size

    pages = [e.data for e in encodings.encode(project.pages)] if encodings is not None else None
    data = encode(dataclasses.replace(project, images={}, pages=[] if pages is not None else project.pages))
    if pages is not None:
        data["pages"] = pages
    data.pop("images")
    keys = sorted(project.referenced_images())
    data["images"] = {k: list(png_size(image_header(project.images, k))) for k in keys}
    return {"schema": SCHEMA_VERSION, "app": "panelsmith", **data}


@dataclasses.dataclass(frozen=True)
class EncodedPage:
    """One page as a save writes it: checked on its own (geometry, ranges), its manifest dict, its
    JSON text and its thumbnail fingerprint. Shared between saves: never changed."""

    page: Page
    data: dict
    text: str
    fingerprint: str


class PageEncodings:
    """The pages of one document as saves encode them, kept per page object, so that a save after
    an edit encodes only the pages the edit replaced (a 200-page book: one page, not 200).

    Only for a document whose pages are never changed in place: :class:`app.document.Document`,
    whose undo commands put new page objects in place of old ones (see ``SnapshotCommand``). Any
    thread may call :meth:`encode` (a save's writing thread does); the pages of the last call are
    kept, the others dropped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[int, EncodedPage] = {}

    def known(self, page: Page) -> bool:
        """``page`` (this very object) was encoded by an earlier call (so it passed its checks)."""
        hit = self._known.get(id(page))
        return hit is not None and hit.page is page

    def encode(self, pages: list[Page]) -> list[EncodedPage]:
        """Each page encoded (only those not encoded before), once :func:`check_project` passed
        (given this object, it checks only the pages not encoded before); raises ValueError for a
        non-finite number."""
        from .page_thumbnails import fingerprint_encoded

        with self._lock:
            known = self._known
            out: list[EncodedPage] = []
            for page in pages:
                hit = known.get(id(page))
                if hit is None or hit.page is not page:
                    data = encode(page)
                    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
                    hit = EncodedPage(page, data, text, fingerprint_encoded(data))
                out.append(hit)
            self._known = {id(e.page): e for e in out}
            return out


# --- decoding --------------------------------------------------------------------------------------------

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


_SHAPES: dict[Any, tuple[Any, tuple]] = {}
_DECODE_FIELDS: dict[type, tuple[tuple[str, Any, bool], ...]] = {}


def _shape(tp: Any) -> tuple[Any, tuple]:
    """``(typing.get_origin(tp), typing.get_args(tp))``, worked out once per type."""
    try:
        return _SHAPES[tp]
    except KeyError:
        shape = _SHAPES[tp] = (typing.get_origin(tp), typing.get_args(tp))
        return shape
    except TypeError:  # an unhashable annotation
        return typing.get_origin(tp), typing.get_args(tp)


def _decode_fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """A dataclass's fields as (name, type, required), worked out once per class."""
    plan = _DECODE_FIELDS.get(cls)
    if plan is None:
        hints = _hints(cls)
        plan = _DECODE_FIELDS[cls] = tuple(
            (f.name, hints[f.name], f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
            for f in dataclasses.fields(cls))
    return plan


def _type_name(tp: Any) -> str:
    if tp is float:
        return "a number"
    if tp is int:
        return "an integer"
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return "a list"
    if origin is dict or tp is dict or (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        return "an object"
    return str(tp)


def decode_generic(tp: Any, value: Any, where: str, depth: int = 0) -> Any:
    """Build a value of type ``tp`` from JSON data, or raise ManifestError naming ``where``: the
    reference decoder, dispatching on the type at every value (:func:`decode` is its fast twin)."""
    if depth > MAX_DEPTH:
        raise ManifestError(f"{where}: nested too deeply")
    if tp is str and type(value) is str:  # the most common leaves first
        return _text(value, where)
    if tp is float and type(value) is float and math.isfinite(value):
        return value
    origin, args = _shape(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        real = [a for a in args if a is not type(None)]
        if len(real) == 1:
            return decode_generic(real[0], value, where, depth)
        for arg in real:
            try:
                return decode_generic(arg, value, where, depth)
            except ManifestError:
                continue
        raise ManifestError(f"{where}: unexpected value {_short(value)}")
    if tp is Any:
        return _plain_json(value, where, depth)
    if tp is bool:
        if not isinstance(value, bool):
            raise ManifestError(f"{where}: expected true or false, got {_short(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ManifestError(f"{where}: expected an integer, got {_short(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ManifestError(f"{where}: expected a number, got {_short(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ManifestError(f"{where}: expected a string, got {_short(value)}")
        return _text(value, where)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise ManifestError(f"{where}: expected {_type_name(tp)}, got {_short(value)}") from None
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise ManifestError(f"{where}: expected an object, got {_short(value)}")
        return _plain_json(value, where, depth)
    if origin is list:
        if not isinstance(value, list):
            raise ManifestError(f"{where}: expected a list, got {_short(value)}")
        (item,) = args
        return [decode_generic(item, v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, list) or len(value) != len(args):
            raise ManifestError(f"{where}: expected a list of {len(args)} values, got {_short(value)}")
        return tuple(decode_generic(a, v, f"{where}[{i}]", depth + 1) for i, (a, v) in enumerate(zip(args, value)))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ManifestError(f"{where}: expected an object, got {_short(value)}")
        kwargs = {}
        for name, hint, required in _decode_fields(tp):
            if name in value:
                kwargs[name] = decode_generic(hint, value[name], f"{where}.{name}", depth + 1)
            elif required:
                raise ManifestError(f"{where}: missing {name!r}")
        return tp(**kwargs)
    raise ManifestError(f"{where}: unsupported type {tp!r}")


def _plain_json(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ManifestError(f"{where}: nested too deeply")
    if isinstance(value, dict):
        return {_text(k, where): _plain_json(v, f"{where}.{k}", depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_json(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ManifestError(f"{where}: non-finite number")
    if isinstance(value, str):
        return _text(value, where)
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: str, where: str) -> str:
    """``value`` if it can be written back as UTF-8 (no lone surrogate such as ``\\ud800``)."""
    if _SURROGATE.search(value):
        raise ManifestError(f"{where}: the text holds an invalid character (a lone UTF-16 surrogate)")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- specialised decoders --------------------------------------------------------------------------------
#
# decode() builds, once per type, Python source for a decoder specialised to that type (one function
# per dataclass, as ``dataclasses`` builds __init__): each field's common values (an exact str without
# a lone surrogate, an int, a finite float, true/false, an enum value, None, a list, a point) are
# checked inline; anything else goes to decode_generic for that field, which then gives the very
# result or error it would have given. A decoder whose inline checks could pass MAX_DEPTH (read when
# it is built) hands the whole value to decode_generic instead. An object holding exactly its fields,
# in order (as encode() writes them), is read in one step; places travel as (parent, step) pairs and
# are written out only for an error. tests/test_manifest_decode.py compares both decoders.

class _Slow(Exception):
    """A plain JSON value the fast copy leaves to :func:`_plain_json` (for its exact result or error)."""


_NO = object()  # a missing key
# Where a value lies, as decode_generic names it: its text, or (the parent's place, ".field" or a list
# index), so that a place is only written out for an error.
Where = str | tuple
_DECODERS: dict[Any, Callable[[Any, str, int], Any]] = {}
_DECODERS_LOCK = threading.Lock()
_sur = _SURROGATE.search


def decode(tp: Any, value: Any, where: str, depth: int = 0) -> Any:
    """Build a value of type ``tp`` from JSON data, or raise ManifestError naming ``where``: what
    :func:`decode_generic` gives (the same value or the same error), with a decoder built for ``tp``."""
    try:
        fn = _DECODERS.get(tp)
    except TypeError:  # an unhashable annotation
        return decode_generic(tp, value, where, depth)
    if fn is None:
        fn = _build_decoder(tp)
    return fn(value, where, depth)


def _build_decoder(tp: Any) -> Callable[[Any, str, int], Any]:
    """The specialised decoder of ``tp`` (and of the dataclasses it holds), built and kept."""
    with _DECODERS_LOCK:
        if tp not in _DECODERS:
            try:
                _Codegen().build(tp)
            except Exception:  # noqa: BLE001 - a type the generator cannot follow (say, a bad hint)
                _DECODERS[tp] = lambda value, where, depth: decode_generic(tp, value, where, depth)
        return _DECODERS[tp]


def _path(where: Where) -> str:
    """The text of a place: ``where`` itself, or the place a (parent, ".name" or index) pair names."""
    steps = []
    while where.__class__ is tuple:
        where, step = where
        steps.append(f"[{step}]" if step.__class__ is int else step)
    return where + "".join(reversed(steps))


def _plain(value: Any, where: Where, depth: int) -> Any:
    """:func:`_plain_json` of ``value``: a fast copy of an object or a list whose every part is ordinary."""
    try:
        if value.__class__ is dict:
            return _plain_dict(value, depth)
        if value.__class__ is list:
            return _plain_list(value, depth)
    except _Slow:
        pass
    return _plain_json(value, _path(where), depth)


def _plain_dict(value: dict, depth: int) -> dict:
    """A copy of an object of exact JSON types without a lone surrogate or a non-finite number, all
    within MAX_DEPTH; else _Slow (as :func:`_plain_list`, whose leaf checks it repeats for speed)."""
    if depth >= MAX_DEPTH:
        raise _Slow
    out = {}
    for key, item in value.items():
        if key.__class__ is not str or not key.isascii() and _sur(key):
            raise _Slow
        kind = item.__class__
        if kind is str:
            if not item.isascii() and _sur(item):
                raise _Slow
        elif kind is dict or kind is list:
            item = (_plain_dict if kind is dict else _plain_list)(item, depth + 1)
        elif kind is float:
            if item - item != 0.0:  # not finite
                raise _Slow
        elif kind is not int and kind is not bool and item is not None:
            raise _Slow
        out[key] = item
    return out


def _plain_list(value: list, depth: int) -> list:
    """A copy of a list of exact JSON types without a lone surrogate or a non-finite number, all
    within MAX_DEPTH; else _Slow."""
    if depth >= MAX_DEPTH:
        raise _Slow
    out = []
    for item in value:
        kind = item.__class__
        if kind is str:
            if not item.isascii() and _sur(item):
                raise _Slow
        elif kind is dict or kind is list:
            item = (_plain_dict if kind is dict else _plain_list)(item, depth + 1)
        elif kind is float:
            if item - item != 0.0:  # not finite
                raise _Slow
        elif kind is not int and kind is not bool and item is not None:
            raise _Slow
        out.append(item)
    return out


# An inline check: (condition, value, height). ``condition`` is a Python expression that is true when
# the inline value is exactly what decode_generic gives ("True": always; None: never inline), ``value``
# the expression of that value, ``height`` the deepest offset checked inline (for MAX_DEPTH).
_Inline = tuple[str | None, str, int]
_LEAVES = {
    str: "{x}.__class__ is str and ({x}.isascii() or not _sur({x}))",
    int: "{x}.__class__ is int",
    bool: "({x} is True or {x} is False)",
}


def _dataclass_made_init(cls: type) -> bool:
    """``cls.__init__`` is the one ``dataclasses`` wrote (exec'd source) for all its fields, so that
    passing a field's default (or its factory's result) equals leaving the argument out."""
    code = getattr(cls.__init__, "__code__", None)
    return (cls.__dataclass_params__.init and all(f.init for f in dataclasses.fields(cls))
            and code is not None and code.co_filename == "<string>")


class _Codegen:
    """The source of the decoders of one type and the dataclasses it reaches, run in one namespace."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"_g": decode_generic, "_E": ManifestError, "_plain": _plain, "_path": _path,
                                   "_sur": _sur, "_NO": _NO}
        self.funcs: dict[type, str] = {}
        self.sources: list[str] = []

    def bind(self, obj: Any, prefix: str = "_t") -> str:
        """A name for ``obj`` in the decoders' namespace."""
        name = f"{prefix}{len(self.ns)}"
        self.ns[name] = obj
        return name

    def build(self, tp: Any) -> None:
        """Define and register the decoders of ``tp`` and of every dataclass it reaches."""
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            top = self.dataclass(tp)
        else:
            top = "_top"
            cond, value, height = self.inline(tp, "value", "where", 0)
            self.sources.append(self.guarded(top, self.bind(tp), cond, value, height))
        exec("\n\n".join(self.sources), self.ns)  # noqa: S102 - our own source, as dataclasses does
        for cls, name in self.funcs.items():
            _DECODERS.setdefault(cls, self.ns[name])
        _DECODERS[tp] = self.ns[top]

    @staticmethod
    def guarded(name: str, tp: str, cond: str | None, value: str, height: int) -> str:
        """A decoder of a type other than a dataclass: its inline check, else decode_generic."""
        if cond is None:
            return f"def {name}(value, where, depth):\n    return _g({tp}, value, _path(where), depth)"
        inline = value if cond == "True" else f"{value} if {cond} else _g({tp}, value, _path(where), depth)"
        return (f"def {name}(value, where, depth):\n"
                f"    if depth > {MAX_DEPTH - height}:\n        return _g({tp}, value, _path(where), depth)\n"
                f"    return {inline}")

    def dataclass(self, cls: type) -> str:
        """The name of the decoder of dataclass ``cls`` (its source added when first asked)."""
        name = self.funcs.get(cls)
        if name is None:
            known = _DECODERS.get(cls)
            name = self.funcs[cls] = self.bind(known, "_known") if known else f"_dc{len(self.funcs)}"
            if known is None:
                self.sources.append(self.dataclass_source(cls, name))
        return name

    def dataclass_source(self, cls: type, name: str) -> str:
        """``def name(value, where, depth)``: each field checked inline where it can be, in field order;
        an object with exactly the fields, in order (as :func:`encode` writes them), read in one step."""
        fields = _decode_fields(cls)
        checks = [self.field_check(hint, f"v{i}", f"(where, {'.' + field_name!r})")
                  for i, (field_name, hint, _) in enumerate(fields)]
        cls_name = self.bind(cls, "_cls")
        lines = [f"def {name}(value, where, depth):",
                 f"    if depth > {MAX_DEPTH - max([0, *(h for _, h in checks)])} or value.__class__ is not dict:",
                 f"        return _g({cls_name}, value, _path(where), depth)"]
        names = [f"v{i}" for i in range(len(fields))]
        call = f"{cls_name}({', '.join(f'{f[0]}=v{i}' for i, f in enumerate(fields))})"
        if _dataclass_made_init(cls) and fields:
            keys = self.bind([f[0] for f in fields], "_keys")
            lines += [f"    if len(value) == {len(fields)} and [*value] == {keys}:",
                      f"        {', '.join(names)}, = value.values()",
                      *(f"        v{i} = {check}" for i, (check, _) in enumerate(checks)),
                      f"        return {call}"]
        else:
            call = f"{cls_name}(**kw)"
            lines.append("    kw = {}")
        for i, ((field_name, _, required), (check, _)) in enumerate(zip(fields, checks)):
            lines += [f"    v{i} = value.get({field_name!r}, _NO)", f"    if v{i} is not _NO:",
                      f"        v{i} = {check}"]
            if required:
                lines += ["    else:", f"        raise _E(_path(where) + {': missing ' + repr(field_name)!r})"]
            if call.endswith("(**kw)"):
                lines += [f"    if v{i} is not _NO:", f"        kw[{field_name!r}] = v{i}"]
            elif not required:  # what the dataclass's __init__ takes for a missing argument
                lines += ["    else:", f"        v{i} = {self.default(cls, field_name)}"]
        return "\n".join([*lines, f"    return {call}"])

    def field_check(self, hint: Any, x: str, where: str) -> tuple[str, int]:
        """The expression of a field's decoded value ``x`` (inline, else decode_generic) and its height."""
        cond, value, height = self.inline(hint, x, where, 1)
        if cond is None:
            return f"_g({self.bind(hint)}, {x}, _path({where}), depth + 1)", height
        if cond == "True":
            return value, height
        return f"{value} if {cond} else _g({self.bind(hint)}, {x}, _path({where}), depth + 1)", height

    def default(self, cls: type, name: str) -> str:
        """The expression of a field's default: its value, or a call of its factory."""
        field = cls.__dataclass_fields__[name]
        if field.default is dataclasses.MISSING:
            return f"{self.bind(field.default_factory, '_f')}()"
        return self.bind(field.default, "_d")

    def inline(self, tp: Any, x: str, where: str, off: int) -> _Inline:
        """The inline check of a value ``x`` of type ``tp`` at ``depth + off`` (see :data:`_Inline`)."""
        depth = f"depth + {off}"
        if isinstance(tp, type) and tp in _LEAVES:
            return _LEAVES[tp].format(x=x), x, off
        if tp is float:  # a finite float as it is; an int well inside float's range as float(x)
            finite = f"{x}.__class__ is float and {x} - {x} == 0.0"
            return (f"({finite} or {x}.__class__ is int and -1e300 < {x} < 1e300)",
                    f"({x} if {x}.__class__ is float else float({x}))", off)
        origin, args = _shape(tp)
        if origin in (typing.Union, types.UnionType):
            return self.optional(args, x, where, off)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            members = self.bind({m.value: m for m in tp}, "_m")
            return f"{x}.__class__ is str and {x} in {members}", f"{members}[{x}]", off
        if tp is Any:
            return "True", f"_plain({x}, {where}, {depth})", 0
        if tp is dict or origin is dict:
            return f"{x}.__class__ is dict", f"(_plain({x}, {where}, {depth}) if {x} else {{}})", off
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return "True", f"{self.dataclass(tp)}({x}, {where}, {depth})", 0
        if origin is list:
            return self.list_of(args[0], x, where, off)
        if origin is tuple and args and Ellipsis not in args:
            return self.tuple_of(args, x, where, off)
        return None, x, 0

    def optional(self, args: tuple, x: str, where: str, off: int) -> _Inline:
        """``T | None``: None, else T's inline check (other unions are left to decode_generic)."""
        real = [a for a in args if a is not type(None)]
        if len(real) != 1 or len(args) != 2:
            return None, x, 0
        cond, value, height = self.inline(real[0], x, where, off)
        if cond is None:
            return f"{x} is None", "None", off
        value = value if value == x else f"(None if {x} is None else {value})"
        return ("True" if cond == "True" else f"({x} is None or {cond})"), value, max(off, height)

    def list_of(self, item: Any, x: str, where: str, off: int) -> _Inline:
        """``list[T]``: a list, each item checked inline (decode_generic for an item that is not); an
        empty list and a list of one item without a comprehension (the commonest lists are short)."""
        y, k = f"_y{off}", f"_k{off}"
        each, height = self.list_item(item, y, f"({where}, {k})", off)
        if each is None:
            return None, x, 0
        first, _ = self.list_item(item, f"{x}[0]", f"({where}, 0)", off)
        value = f"([] if not {x} else [{first}] if len({x}) == 1 else [{each} for {k}, {y} in enumerate({x})])"
        return f"{x}.__class__ is list", value, max(off, height)

    def list_item(self, item: Any, y: str, where: str, off: int) -> tuple[str | None, int]:
        """The expression of a list's item ``y`` (at ``depth + off + 1``: inline, else decode_generic;
        None if never inline) and its height."""
        cond, value, height = self.inline(item, y, where, off + 1)
        if cond is None or cond == "True":
            return (None if cond is None else value), height
        return f"{value} if {cond} else _g({self.bind(item)}, {y}, _path({where}), depth + {off + 1})", height

    def tuple_of(self, args: tuple, x: str, where: str, off: int) -> _Inline:
        """``tuple[A, B, ...]``: a list of that length whose items all pass their inline checks."""
        parts = [self.inline(a, f"{x}[{i}]", "''", off + 1) for i, a in enumerate(args)]
        if any(cond in (None, "True") for cond, _, _ in parts):
            return None, x, 0
        cond = " and ".join([f"{x}.__class__ is list", f"len({x}) == {len(args)}", *(c for c, _, _ in parts)])
        value = "(" + "".join(f"{v}, " for _, v, _ in parts) + ")"
        return cond, value, max(off, *(h for _, _, h in parts))


# --- checks beyond types ---------------------------------------------------------------------------------

def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else None


def _items(value: Any) -> list:
    return value if isinstance(value, list) else []


def _long_loop(variants: list) -> int | None:
    """The frame count of the first of these variants whose loop is over the limit, or None."""
    for variant in variants:
        motion = variant.get("motion") if isinstance(variant, dict) else None
        frames = motion.get("frames") if isinstance(motion, dict) else None
        if isinstance(frames, list) and len(frames) > limits.MAX_FRAMES_PER_LOOP:
            return len(frames)
    return None


def check_raw_counts(data: dict) -> None:
    """Refuse absurd counts (pages, panels, balloons, variants, cards, references, loop frames) before
    decoding; what is not a list where one belongs counts as empty (decoding refuses it)."""
    pages, longest = [], None  # per page (panels, balloons, variants of each panel); the first long loop
    for page in _items(data.get("pages")):
        panels, variant_counts = _items(_field(page, "panels")), []
        for panel in panels:
            variants = panel.get("variants") if isinstance(panel, dict) else None
            if isinstance(variants, list):
                variant_counts.append(len(variants))
                longest = _long_loop(variants) if longest is None else longest
            else:
                variant_counts.append(0)
        pages.append((len(panels), _count(_field(page, "balloons")), variant_counts))
    cards = [_count(_field(card, "references"))
             for group in ("characters", "styles") for card in _items(data.get(group))]
    problem = limits.count_problem(pages, cards)
    if problem:
        raise ManifestError(f"the project is over a limit: {problem}")
    if longest is not None:
        raise ManifestError(f"the project is over a limit: a loop has {longest} frames "
                            f"(the limit is {limits.MAX_FRAMES_PER_LOOP})")


def check_counts(project: Project) -> None:
    """The same limits as :func:`check_raw_counts`, for a project about to be saved."""
    problem = limits.count_problem(
        ((len(page.panels), len(page.balloons), (len(panel.variants) for panel in page.panels))
         for page in project.pages),
        [len(card.references) for card in [*project.characters, *project.styles]])
    if problem:
        raise ManifestError(f"the project is over a limit: {problem}")


def check_project(project: Project, image_keys: set[str], checked: PageEncodings | None = None) -> None:
    """Semantic checks: counts, page sizes, geometry, unique ids, card bindings, image references.

    A page ``checked`` already knows (unchanged since it was encoded) skips the checks that depend
    on the page alone (:func:`check_page`). Places are written out only for an error."""
    check_counts(project)
    if not 36 <= project.dpi <= 2400:
        raise ManifestError(f"dpi {project.dpi} is out of range (36–2400)")
    ids: set[str] = set()

    def unique(item_id: str, where: str, *numbers: int) -> None:
        """``where``: the place's pattern, its ``{}`` filled with ``numbers`` for an error."""
        if not item_id or item_id in ids:
            raise ManifestError(f"{where.format(*numbers)}: duplicate or empty id {item_id!r}")
        ids.add(item_id)

    for c, card in enumerate(project.characters):
        unique(card.id, "characters[{}]", c)
    for c, card in enumerate(project.styles):
        unique(card.id, "styles[{}]", c)
    char_ids = {c.id for c in project.characters}
    style_ids = {c.id for c in project.styles}
    for p, page in enumerate(project.pages):
        unique(page.id, "pages[{}]", p)
        if checked is None or not checked.known(page):
            check_page(page, f"pages[{p}]")
        for i, panel in enumerate(page.panels):
            unique(panel.id, "pages[{}].panels[{}]", p, i)
            for b in panel.characters:
                if b.card not in char_ids:
                    raise ManifestError(f"pages[{p}].panels[{i}] is bound to unknown character card {b.card!r}")
            for b in panel.styles:
                if b.card not in style_ids:
                    raise ManifestError(f"pages[{p}].panels[{i}] is bound to unknown style card {b.card!r}")
            _check_variants(panel, image_keys, unique, p, i)
        for i, balloon in enumerate(page.balloons):
            unique(balloon.id, "pages[{}].balloons[{}]", p, i)
    for card in [*project.characters, *project.styles]:
        _check_card(card, image_keys)


def _check_variants(panel: Panel, image_keys: set[str], unique: Callable[..., None], p: int, i: int) -> None:
    """A panel's variants: unique ids, images that exist, loops; its current variant among them."""
    vids = set()
    for v, variant in enumerate(panel.variants):
        unique(variant.id, "pages[{}].panels[{}].variants[{}]", p, i, v)
        vids.add(variant.id)
        if variant.image not in image_keys:
            raise ManifestError(f"pages[{p}].panels[{i}].variants[{v}] refers to missing image {variant.image!r}")
        if variant.motion is not None:
            _check_motion(variant, image_keys, f"pages[{p}].panels[{i}].variants[{v}].motion")
    if panel.current is not None and panel.current not in vids:
        raise ManifestError(f"pages[{p}].panels[{i}].current refers to unknown variant {panel.current!r}")


def _check_card(card: CharacterCard | StyleCard, image_keys: set[str]) -> None:
    """A card's LoRA weight and references (images that exist, weights and face indexes in range)."""
    if not -10 <= card.lora_weight <= 10:  # NaN fails too
        raise ManifestError(f"card {card.id!r}: LoRA weight {card.lora_weight} is out of range (-10–10)")
    for r, ref in enumerate(card.references):
        if ref.image not in image_keys:
            raise ManifestError(f"card {card.id!r} reference {r} refers to missing image {ref.image!r}")
        if not 0 <= ref.weight <= 100:
            raise ManifestError(f"card {card.id!r} reference {r}: weight {ref.weight} is out of range (0–100)")
        if not 0 <= ref.face_index < 1000:
            raise ManifestError(f"card {card.id!r} reference {r}: face index {ref.face_index} is out of range")


def _check_motion(variant: Variant, image_keys: set[str], where: str) -> None:
    motion = variant.motion
    if not 1 <= len(motion.frames) <= limits.MAX_FRAMES_PER_LOOP:
        raise ManifestError(f"{where}: a loop has {len(motion.frames)} frames "
                            f"(1–{limits.MAX_FRAMES_PER_LOOP})")
    if not 1 <= motion.fps <= limits.MAX_LOOP_FPS:
        raise ManifestError(f"{where}.fps {motion.fps} is out of range (1–{limits.MAX_LOOP_FPS})")
    if not 0 <= motion.still < len(motion.frames):
        raise ManifestError(f"{where}.still {motion.still} is not one of its {len(motion.frames)} frames")
    for f, key in enumerate(motion.frames):
        if key not in image_keys:
            raise ManifestError(f"{where}.frames[{f}] refers to missing image {key!r}")
    if motion.frames[motion.still] != variant.image:
        raise ManifestError(f"{where}: the still frame is not the variant's image")


def check_page(page: Page, where: str) -> None:
    """The checks that depend on the page alone: its size and margins, each item's geometry and ranges."""
    if not (1 <= page.width_mm <= 10_000 and 1 <= page.height_mm <= 10_000):
        raise ManifestError(f"{where}: page size {page.width_mm:g} × {page.height_mm:g} mm is absurd")
    for name in ("bleed_mm", "safe_mm", "gutter_mm", "stroke_mm"):
        value = getattr(page, name)
        if not 0 <= value <= 100:
            raise ManifestError(f"{where}.{name} {value:g} is out of range (0–100 mm)")
    for i, panel in enumerate(page.panels):
        _geometry(panel.points, page, "{}.panels[{}]", where, i)
        if not 0.05 <= panel.placement.scale <= 20:
            raise ManifestError(f"{where}.panels[{i}].placement.scale {panel.placement.scale} "
                                f"is out of range (0.05–20)")
        if abs(panel.placement.offset_x) > 10_000 or abs(panel.placement.offset_y) > 10_000:
            raise ManifestError(f"{where}.panels[{i}].placement offset is absurd")
        for b in panel.characters:
            if not 0 <= b.weight <= 100:
                raise ManifestError(f"{where}.panels[{i}]: cw {b.weight} is out of range (0–100)")
        for b in panel.styles:
            if not 0 <= b.weight <= 1000:
                raise ManifestError(f"{where}.panels[{i}]: sw {b.weight} is out of range (0–1000)")
    for i, balloon in enumerate(page.balloons):
        _geometry(balloon.rect.points(), page, "{}.balloons[{}]", where, i)
        if balloon.tail is not None:
            tail = balloon.tail
            _geometry([tail, (tail[0] + 1, tail[1]), (tail[0], tail[1] + 1)], page, "{}.balloons[{}].tail", where, i)
        if not 0.5 <= balloon.font_size <= 500:
            raise ManifestError(f"{where}.balloons[{i}].font_size {balloon.font_size} is out of range (0.5–500 pt)")


def _geometry(points: list, page: Page, where: str, *parts: Any) -> None:
    """:func:`layout.validate_geometry` as a ManifestError naming ``where`` (its ``{}`` filled with
    ``parts``); an outline :func:`_plainly_valid` passes skips it."""
    if _plainly_valid(points, page):
        return
    try:
        layout.validate_geometry(points, page)
    except ValueError as exc:
        raise ManifestError(f"{where.format(*parts)}: {exc}") from None


def _plainly_valid(points: list, page: Page) -> bool:
    """A sufficient condition for :func:`layout.validate_geometry` to pass, in a few comparisons:
    3–64 corners, all within 10× the page's larger side (so finite), and an area over its 0.25 mm²
    by more than any rounding of the sum (the terms are at most twice the limit squared). Anything
    else (or odd) is left to it, for its exact result."""
    try:
        if not 3 <= len(points) <= 64:
            return False
        limit = 10 * max(page.width_mm, page.height_mm)
        twice_area = 0.0
        px, py = points[-1]
        for x, y in points:
            if not (-limit <= x <= limit and -limit <= y <= limit):
                return False
            twice_area += px * y - x * py
            px, py = x, y
        return abs(twice_area) >= 0.5 + len(points) * limit * limit * 1e-13
    except Exception:  # noqa: BLE001 - odd values: validate_geometry says what it says
        return False


# --- migrations ------------------------------------------------------------------------------------------

def _migrate_1_to_2(data: dict) -> dict:
    """Schema 1 (Panelsmith 0.0): panels had ``rect: [x, y, w, h]`` and one ``image`` key; cards listed
    reference image keys as plain strings; bindings were ``{"card", "cw"}`` / ``{"card", "sw"}``."""
    out = dict(data)
    pages = []
    for p, page in enumerate(_list(data.get("pages", []), "pages")):
        page = dict(_obj(page, f"pages[{p}]"))
        panels = []
        for i, panel in enumerate(_list(page.get("panels", []), f"pages[{p}].panels")):
            where = f"pages[{p}].panels[{i}]"
            panel = dict(_obj(panel, where))
            rect = panel.pop("rect", None)
            if not isinstance(rect, list) or len(rect) != 4 or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in rect):
                raise ManifestError(f"{where}.rect: expected [x, y, w, h]")
            panel["points"] = Rect(*map(float, rect)).points()
            panel["points"] = [list(pt) for pt in panel["points"]]
            image = panel.pop("image", None)
            if image is not None:
                if not isinstance(image, str):
                    raise ManifestError(f"{where}.image: expected an image key")
                vid = f"var-{panel.get('id', i)}-1"
                panel["variants"] = [{"id": vid, "image": image, "kind": "import"}]
                panel["current"] = vid
            for group, weight in (("characters", "cw"), ("styles", "sw")):
                bindings = []
                for b, binding in enumerate(_list(panel.get(group, []), f"{where}.{group}")):
                    binding = _obj(binding, f"{where}.{group}[{b}]")
                    bindings.append({"card": binding.get("card"), "weight": binding.get(weight, 100)})
                panel[group] = bindings
            panels.append(panel)
        page["panels"] = panels
        pages.append(page)
    out["pages"] = pages
    for group in ("characters", "styles"):
        cards = []
        for c, card in enumerate(_list(data.get(group, []), group)):
            card = dict(_obj(card, f"{group}[{c}]"))
            card["references"] = [{"image": r} if isinstance(r, str) else r
                                  for r in _list(card.get("references", []), f"{group}[{c}].references")]
            cards.append(card)
        out[group] = cards
    out["schema"] = 2
    return out


def _migrate_2_to_3(data: dict) -> dict:
    """Schema 3 adds ``motion`` (a loop's frames, fps and still frame) to variants; schema 2 had none,
    so nothing changes but the version (a Panelsmith that reads only schema 2 refuses a file that may hold loops)."""
    return {**data, "schema": 3}


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise ManifestError(f"{where}: expected a list")
    return value


def _obj(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: expected an object")
    return value


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _migrate_1_to_2, 2: _migrate_2_to_3}


def migrate(data: dict) -> dict:
    """Bring manifest data of an older schema up to :data:`SCHEMA_VERSION`, one step at a time."""
    version = data.get("schema")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ManifestError("the manifest has no valid schema version")
    if version > SCHEMA_VERSION:
        raise ManifestError(f"the project was saved by a newer Panelsmith (schema {version}; "
                            f"this version reads up to {SCHEMA_VERSION})")
    if version < 1:
        raise ManifestError(f"unknown schema version {version}")
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version = data["schema"]
    return data


def manifest_to_project(data: Any, images: dict[str, bytes]) -> Project:
    """Migrate, type-check and validate manifest data; ``images`` are the PNG entries by key."""
    if not isinstance(data, dict):
        raise ManifestError("the manifest is not a JSON object")
    data = migrate(data)
    check_raw_counts(data)
    listed = data.get("images", {})
    if not isinstance(listed, (dict, list)):
        raise ManifestError("images: expected an object")
    fields = {f.name for f in dataclasses.fields(Project)} - {"images"}
    project = decode(Project, {k: v for k, v in data.items() if k in fields}, "manifest")
    check_project(project, set(images))
    referenced = project.referenced_images()
    from .image_store import ImageStore

    if isinstance(images, ImageStore):
        for key in [k for k in images if k not in referenced]:
            del images[key]
        project.images = images  # a lazy store stays lazy
    else:
        project.images = {k: images[k] for k in sorted(referenced)}
    return project

