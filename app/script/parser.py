"""A lenient reader for comic scripts: Full Script style, markdown-ish and Fountain-style scene text.

``parse(text)`` returns a :class:`Script`: pages (a spread is one entry with two numbers), their
panels with description, lettering and notes, and the problems found, each with its line number.
Nothing is dropped silently: a line that is not understood becomes a problem. Hostile input is
refused with :class:`ScriptError` (one line) or bounded (extra panels and lettering are reported).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .numbers import read_range, tokens

MAX_BYTES = 2 * 1024 * 1024
MAX_PAGES = 1000
MAX_PANELS_PER_PAGE = 24
MAX_LETTERING_PER_PANEL = 40
MAX_LINE_CHARS = 4000
MAX_PROBLEMS = 200

SPEECH, THOUGHT, WHISPER, OFF, CAPTION, SFX, SHOUT = "speech", "thought", "whisper", "off", "caption", "sfx", "shout"
_MODIFIERS = {
    OFF: {"off", "os", "o.s.", "o.s", "oc", "o.c.", "off panel", "off-panel", "op", "vo", "v.o.", "v.o", "voice over",
          "voice-over", "off screen", "off-screen", "radio", "phone", "tv", "intercom", "electronic"},
    WHISPER: {"whisper", "whispers", "whispering", "whispered", "quiet", "softly", "sotto voce"},
    THOUGHT: {"thought", "thoughts", "thinks", "thinking", "thought balloon"},
    SHOUT: {"shout", "shouts", "shouting", "yell", "yells", "yelling", "scream", "screams", "screaming", "loud",
            "burst"},
}
_CAPTION_NAMES = {"caption", "cap", "captions", "narration", "narrator", "narr"}
_SFX_NAMES = {"sfx", "fx", "sound", "sound effect", "sound fx"}


class ScriptError(ValueError):
    """The script cannot be used at all (one line)."""


@dataclass
class Lettering:
    kind: str  # speech | thought | whisper | off | shout | caption | sfx
    text: str
    line: int
    speaker: str = ""  # as written (upper case in Full Script); "" for captions and effects
    number: int | None = None  # the script's lettering number, when numbered


@dataclass
class ScriptPanel:
    number: int
    line: int  # the heading's line (1-based)
    end_line: int
    description: str = ""
    shape: str = ""  # "" | wide | tall | inset
    lettering: list[Lettering] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ScriptPage:
    numbers: list[int]  # one number, or two for a spread
    line: int
    end_line: int
    panels: list[ScriptPanel] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return "-".join(map(str, self.numbers))


@dataclass
class Problem:
    line: int
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "message": self.message}


@dataclass
class Script:
    pages: list[ScriptPage] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    title: str = ""
    lines: int = 0

    @property
    def panel_count(self) -> int:
        return sum(len(p.panels) for p in self.pages)

    @property
    def page_count(self) -> int:
        return sum(len(p.numbers) for p in self.pages)


# --- reading the file -------------------------------------------------------------------------------

def read_script_file(path: str | Path) -> str:
    """The text of a script file, or ScriptError naming it (missing, too large, binary, not text)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ScriptError(f"script {path} is not a file")
        if size > MAX_BYTES:
            raise ScriptError(f"script {path} is {size // 1024} KB, over the {MAX_BYTES // 1024} KB limit")
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ScriptError(f"script {path} does not exist") from None
    except OSError as exc:
        raise ScriptError(f"cannot read script {path}: {(exc.strerror or str(exc)).lower()}") from None
    if len(data) > MAX_BYTES:
        raise ScriptError(f"script {path} is over the {MAX_BYTES // 1024} KB limit")
    return decode_script(data, str(path))


def decode_script(data: bytes, name: str = "the script") -> str:
    """Bytes to text (UTF-8, UTF-16 with a BOM, else Windows-1252); binary data is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ScriptError(f"{name} is not a text file (bad UTF-16)") from None
    elif b"\x00" in data[:65536]:
        raise ScriptError(f"{name} is not a text file (it holds binary data)")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    sample = text[:65536]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f") + sample.count("\ufffd")
    if sample and controls > max(8, len(sample) // 100):
        raise ScriptError(f"{name} is not a text file (it holds binary data)")
    return text


# --- line patterns ----------------------------------------------------------------------------------

_MD_PREFIX = re.compile(r"^\s*(?:#{1,6}\s*|>\s*|[-*+]\s+(?=\S))?")
_EMPHASIS = re.compile(r"(\*\*|__|\*(?=\S)|(?<=\S)\*|`)")
_PAGE = re.compile(r"^(?:PAGES|PAGE|PGS|PG|PP|P\.)\s*(?P<rest>.*)$", re.IGNORECASE)
_PANEL = re.compile(r"^(?:PANEL|PNL|PANE)\s*(?P<rest>.*)$", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?P<num>\d{1,3})\s*[.)]\s+(?=\S)")
_LETTERING = re.compile(
    r"^(?P<name>[^\W\d_][\w .'\u2019&/-]{0,39}?)\s*(?:\((?P<mod>[^()]{1,40})\))?\s*:\s*(?P<text>.*)$")
_CUE = re.compile(r"^(?P<name>[A-Z][A-Z0-9 .'\u2019&/-]{0,39}?)\s*(?:\((?P<mod>[^()]{1,40})\))?\s*(?:\^)?$")
_PARENTHETICAL = re.compile(r"^\((?P<mod>[^()]{1,40})\)$")
_SCENE = re.compile(r"^(?:\.(?=\w)|(?:INT|EXT|EST|INT\./EXT|INT/EXT|I/E)[. ])", re.IGNORECASE)
_TRANSITION = re.compile(r"^(?:>.*|[A-Z ]+ TO:)$")
_TITLE_KEY = re.compile(r"^(?P<key>title|credit|author|authors|by|draft date|contact|written by|series|issue)"
                        r"\s*:\s*(?P<value>.*)$", re.IGNORECASE)
_CREDIT = re.compile(r"^(?:(?:written|script|story|art|pencils|inks|colou?rs|letters|lettering)\s+)?by\s+\S",
                     re.IGNORECASE)
_SHAPE_WORDS = {"wide": "wide", "widescreen": "wide", "panoramic": "wide", "letterbox": "wide",
                "full-width": "wide", "tall": "tall", "vertical": "tall", "full-height": "tall",
                "inset": "inset", "insert": "inset"}
_SHAPE_IN_TEXT = re.compile(r"\b(wide|widescreen|panoramic|letterbox|tall|vertical)\s+panel\b|\b(inset)\b|"
                            r"\bfull[- ](width|height)\b", re.IGNORECASE)
_NOTE = re.compile(r"\[\[?([^\[\]]*)\]?\]")


def _clean(line: str) -> tuple[str, bool]:
    """The line without markdown heading/quote/bullet marks and emphasis; True when it was emphasised."""
    stripped = _MD_PREFIX.sub("", line.strip(), count=1)
    cleaned = _EMPHASIS.sub("", stripped)
    return cleaned.strip(), cleaned != stripped


def _heading_numbers(rest: str) -> tuple[list[int], str]:
    """Numbers at the start of a heading's remainder and the text after them ('' when none)."""
    words = tokens(rest)
    numbers, used = read_range(words)
    if not numbers:
        return [], rest
    # the remainder: cut the source text after the used words
    pattern = re.compile(r"[A-Za-z]+|\d+|&|[-\u2013\u2014]")
    matches = list(pattern.finditer(rest))
    end = matches[used - 1].end() if used else 0
    return numbers, rest[end:].lstrip(" .:-\u2013\u2014\t").rstrip()


def _shape(heading_rest: str, description: str) -> str:
    for word in tokens(heading_rest.replace("-", " ")) if heading_rest else []:
        if word in _SHAPE_WORDS:
            return _SHAPE_WORDS[word]
    if "full-width" in heading_rest.lower():
        return "wide"
    m = _SHAPE_IN_TEXT.search(description)
    if not m:
        return ""
    if m.group(1):
        return _SHAPE_WORDS[m.group(1).lower()]
    if m.group(2):
        return "inset"
    return "wide" if m.group(3).lower() == "width" else "tall"


def _kind(name: str, modifier: str) -> tuple[str, str] | None:
    """(kind, speaker) for a lettering label, or None when the label is not one."""
    low = " ".join(name.lower().replace("\u2019", "'").split())
    mod = " ".join(modifier.lower().split()) if modifier else ""
    if low in _CAPTION_NAMES or low.startswith("caption"):
        return CAPTION, ""
    if low in _SFX_NAMES:
        return SFX, ""
    for kind, words in _MODIFIERS.items():
        if mod in words or any(part.strip() in words for part in mod.split(",")):
            return kind, name.strip()
    return SPEECH, name.strip()


def _is_label(name: str, emphasised: bool, known: set[str]) -> bool:
    """Is ``name`` (before a colon) a speaker label rather than prose?"""
    low = name.strip().lower()
    if low in _CAPTION_NAMES or low in _SFX_NAMES or low.startswith("caption"):
        return True
    if low in known:
        return True
    letters = [c for c in name if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return True
    return emphasised and len(name.split()) <= 4


# --- the parser --------------------------------------------------------------------------------------

class _Reader:
    def __init__(self, known_names: set[str]) -> None:
        self.known = known_names
        self.script = Script()
        self.page: ScriptPage | None = None
        self.panel: ScriptPanel | None = None
        self.last: Lettering | None = None  # lettering a continuation line extends
        self.gap = False  # a blank line since the last text
        self.desc: list[str] = []
        self.in_note: tuple[int, list[str]] | None = None
        self.seen_page_heading = False
        self.seen_panel_heading = False
        self.dropped = 0

    def problem(self, line: int, message: str) -> None:
        if len(self.script.problems) < MAX_PROBLEMS:
            self.script.problems.append(Problem(line, message))
        else:
            self.dropped += 1

    # --- structure
    def _close_panel(self, end: int) -> None:
        if self.panel is not None:
            self.panel.description = " ".join(" ".join(self.desc).split())
            self.panel.end_line = max(self.panel.line, end)
            if not self.panel.shape:
                self.panel.shape = _shape("", self.panel.description)
        self.panel, self.last, self.desc = None, None, []

    def _close_page(self, end: int) -> None:
        self._close_panel(end)
        if self.page is not None:
            self.page.end_line = max(self.page.line, end)
        self.page = None

    def start_page(self, numbers: list[int], line: int) -> None:
        self._close_page(line - 1)
        pages = self.script.pages
        previous = pages[-1].numbers[-1] if pages else 0
        if len(numbers) == 2 and numbers[1] != numbers[0] + 1:
            self.problem(line, f"pages {numbers[0]}-{numbers[1]}: a spread is two facing pages; "
                               f"read as pages {numbers[0]}-{numbers[0] + 1}")
            numbers = [numbers[0], numbers[0] + 1]
        if numbers[0] <= previous:
            fixed = [previous + 1 + i for i in range(len(numbers))]
            self.problem(line, f"page {numbers[0]} comes after page {previous}: read as page "
                               f"{'-'.join(map(str, fixed))}")
            numbers = fixed
        elif numbers[0] > previous + 1 and pages:
            self.problem(line, f"page {numbers[0]} follows page {previous}: pages in between are missing")
        if self.script.page_count + len(numbers) > MAX_PAGES or numbers[-1] > 10 * MAX_PAGES:
            raise ScriptError(f"the script has more than {MAX_PAGES} pages (line {line}); split it into books")
        self.page = ScriptPage(numbers=numbers, line=line, end_line=line)
        pages.append(self.page)

    def start_panel(self, number: int | None, rest: str, line: int) -> None:
        if self.page is None:
            if self.script.pages or self.seen_page_heading:
                self.problem(line, "panel outside any page")
            self.start_page([self.script.pages[-1].numbers[-1] + 1] if self.script.pages else [1], line)
        self._close_panel(line - 1)
        assert self.page is not None
        previous = self.page.panels[-1].number if self.page.panels else 0
        if number is None:
            self.problem(line, f"panel without a number: read as panel {previous + 1}")
            number = previous + 1
        elif number <= previous:
            self.problem(line, f"panel {number} comes after panel {previous}: read as panel {previous + 1}")
            number = previous + 1
        if len(self.page.panels) >= MAX_PANELS_PER_PAGE:
            self.problem(line, f"page {self.page.key} has more than {MAX_PANELS_PER_PAGE} panels: "
                               f"panel {number} is left out")
            self.panel = ScriptPanel(number=number, line=line, end_line=line)  # read, but not kept
            self.panel.shape = "dropped"
            return
        self.panel = ScriptPanel(number=number, line=line, end_line=line)
        self.page.panels.append(self.panel)
        rest = _NOTE.sub(lambda m: self._note(m.group(1)) or "", rest).strip()
        label = re.match(r"^\(([^()]*)\)\s*", rest)  # "PANEL 2 (WIDE)": a heading label, not description
        if label:
            self.panel.shape = _shape(label.group(1), "")
            if not self.panel.shape and label.group(1).strip():
                self._note(label.group(1))
            rest = rest[label.end():]
        elif rest.lower().rstrip(".") in _SHAPE_WORDS or rest.lower().rstrip(".") in ("wide panel", "tall panel"):
            self.panel.shape = _shape(rest, "")
            rest = ""
        if rest:
            self.desc.append(rest)

    def _note(self, text: str) -> None:
        text = " ".join(text.split())
        if not text:
            return
        if self.panel is not None:
            self.panel.notes.append(text)
        elif self.page is not None:
            self.page.notes.append(text)

    def add_lettering(self, kind: str, speaker: str, text: str, line: int, number: int | None) -> None:
        if self.panel is None:
            where = f"page {self.page.key}" if self.page else "the script"
            self.problem(line, f"lettering before the first panel of {where} is left out: {text[:60]!r}")
            self.last = None
            return
        if len(self.panel.lettering) >= MAX_LETTERING_PER_PANEL:
            self.problem(line, f"panel {self.panel.number} has more than {MAX_LETTERING_PER_PANEL} lettering lines: "
                               "this one is left out")
            self.last = None
            return
        self.last = Lettering(kind=kind, text=text, line=line, speaker=speaker, number=number)
        self.panel.lettering.append(self.last)

    # --- one line
    def feed(self, raw: str, n: int, lines: list[str]) -> None:
        if len(raw) > MAX_LINE_CHARS:
            self.problem(n, f"line is {len(raw)} characters long: cut to {MAX_LINE_CHARS}")
            raw = raw[:MAX_LINE_CHARS]
        if self.in_note is not None:  # a bracketed note over several lines
            start, parts = self.in_note
            if "]" in raw:
                head, _, tail = raw.partition("]")
                parts.append(head)
                self._note(" ".join(parts).lstrip("["))
                self.in_note = None
                raw = tail.lstrip("]")
                if not raw.strip():
                    return
            else:
                parts.append(raw)
                return
        text, emphasised = _clean(raw)
        if not text or set(text) <= set("-=_*~#") or text.startswith("<!--"):
            self.gap = True
            return
        # whole-line and inline notes
        if text.startswith("[") and "]" not in text:
            self.in_note = (n, [text])
            return
        if "[" in text and "]" in text:
            text = " ".join(_NOTE.sub(lambda m: self._note(m.group(1)) or " ", text).split())
            if not text:
                return
        m = _PAGE.match(text)
        if m and (m.group("rest") == "" or not m.group("rest")[0].isalpha() or
                  text.split()[0].lower() in ("page", "pages")):
            numbers, rest = _heading_numbers(m.group("rest"))
            if numbers and len(rest) <= 60:
                self.seen_page_heading = True
                self.start_page(numbers, n)
                self.gap = True
                return
        m = _PANEL.match(text)
        if m and text.split()[0].lower().rstrip(".:") in ("panel", "pnl"):
            numbers, rest = _heading_numbers(m.group("rest"))
            if numbers or not rest:
                self.seen_panel_heading = True
                self.start_panel(numbers[0] if numbers else None, rest, n)
                self.gap = True
                return
        if self.page is None and not self.script.pages:
            self._front_matter(text, raw, n)
            return
        if self.panel is not None and self.panel.shape == "dropped":
            return
        # lettering: "1. NAME (MOD): text", "CAPTION: text", "**Name:** text"
        body = text
        number = None
        nm = _NUMBERED.match(body)
        if nm:
            number, body = int(nm.group("num")), body[nm.end():]
        lm = _LETTERING.match(body)
        if lm and _is_label(lm.group("name"), emphasised, self.known):
            kind, speaker = _kind(lm.group("name"), lm.group("mod") or "")
            self.add_lettering(kind, speaker, lm.group("text").strip(), n, number)
            self.gap = False
            return
        # Fountain: a cue line in capitals, then dialogue (and maybe a parenthetical)
        cm = _CUE.match(text)
        if cm and self._is_cue(text, n, lines) and not _SCENE.match(text):
            kind, speaker = _kind(cm.group("name"), cm.group("mod") or "")
            self.add_lettering(kind, speaker, "", n, number)
            self.gap = False
            return
        if _SCENE.match(text) and not self.seen_page_heading:
            self._scene(text, n)
            return
        if _TRANSITION.match(text):
            self._note(text)
            return
        pm = _PARENTHETICAL.match(text)
        if pm and self.last is not None and not self.last.text:
            kind, _ = _kind(self.last.speaker or "x", pm.group("mod"))
            if self.last.kind == SPEECH and kind != SPEECH:
                self.last.kind = kind
            return
        if self.last is not None and (not self.gap or not self.last.text):
            self.last.text = f"{self.last.text} {text}".strip()
            self.gap = False
            return
        fountain = not self.seen_page_heading and not self.seen_panel_heading
        if self.panel is not None and not (fountain and (self.gap or self.panel.lettering)):
            self.desc.append(text)
            self.last = None
            self.gap = False
            return
        if self.page is not None:
            if fountain:  # Fountain: each paragraph of action text is a panel
                self.start_panel((self.page.panels[-1].number + 1) if self.page.panels else 1, text, n)
                self.gap = False
                return
            self.page.notes.append(text)  # a page-level description
            return
        self.problem(n, f"not understood: {text[:80]!r}")

    def _is_cue(self, text: str, n: int, lines: list[str]) -> bool:
        if not any(c.isalpha() for c in text) or text.endswith((":", ".", "!", "?")) or len(text) < 2:
            return False
        name = _CUE.match(text).group("name").strip()
        if self.seen_page_heading and name.lower() not in self.known and len(name.split()) > 2:
            return False  # Full Script: a capitalised description line, not a Fountain cue
        nxt = lines[n].strip() if n < len(lines) else ""  # lines is 0-based: lines[n] is line n+1
        return bool(nxt) and self.page is not None

    def _scene(self, text: str, n: int) -> None:
        """Fountain scene heading (no PAGE headings in the script): a new page."""
        previous = self.script.pages[-1].numbers[-1] if self.script.pages else 0
        self.start_page([previous + 1], n)
        self.page.notes.append(text.lstrip("."))
        self.gap = True

    def _front_matter(self, text: str, raw: str, n: int) -> None:
        tm = _TITLE_KEY.match(text)
        if tm:
            if tm.group("key").lower() == "title" and not self.script.title:
                self.script.title = tm.group("value").strip()
            return
        if _CREDIT.match(text):
            return
        if raw.lstrip().startswith("#") and not self.script.title:
            self.script.title = text
            return
        if _SCENE.match(text):
            self._scene(text, n)
            return
        if not self.script.title and n <= 3:
            self.script.title = text
            return
        self.problem(n, f"text before the first page is left out: {text[:80]!r}")

    def finish(self, last_line: int) -> Script:
        if self.in_note is not None:
            start, parts = self.in_note
            self.problem(start, "a note opened with [ is never closed: kept as a note")
            self._note(" ".join(parts).lstrip("["))
        self._close_page(last_line)
        for page in self.script.pages:
            for panel in page.panels:
                for item in panel.lettering:
                    if not item.text:
                        self.problem(item.line, f"{item.speaker or item.kind} has no text")
                panel.lettering = [item for item in panel.lettering if item.text]
        if self.dropped:
            self.script.problems.append(Problem(last_line, f"{self.dropped} more problems not listed"))
        self.script.lines = last_line
        return self.script


def parse(text: str, known_names: set[str] | frozenset[str] = frozenset()) -> Script:
    """Read a script; ``known_names`` (lower case) are accepted as speakers in any case."""
    if len(text) > MAX_BYTES:
        raise ScriptError(f"the script is over the {MAX_BYTES // 1024} KB limit")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    reader = _Reader({name.lower() for name in known_names})
    for n, raw in enumerate(lines, start=1):
        reader.feed(raw, n, lines)
    return reader.finish(len(lines))
