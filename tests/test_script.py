"""From script to pages: parsing, layout, prompts, bindings, balloons, updates and hostile scripts."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
from PIL import Image

from app import edits
from app.document import Document
from app.project import BalloonKind, CharacterCard, ReadingOrder
from app.project_io import load_project, save_project
from app.script import page_layout
from app.script.builder import SETTINGS_KEY, script_panel_at_line
from app.script.importer import import_script
from app.script.parser import MAX_PAGES, ScriptError, decode_script, parse
from app.project import Rect

from .helpers_script import FOUNTAIN_SCRIPT, FULL_SCRIPT, MARKDOWN_SCRIPT, SPREAD_SCRIPT
from tests.helpers_cli import one_error_line, run


def cast_doc() -> Document:
    doc = Document()
    edits.add_card(doc, "character", "Ana")
    bob = edits.add_card(doc, "character", "Bob")
    edits.update_card(doc, bob, aliases=["The Captain"])
    return doc


def inside(point, rect: Rect) -> bool:
    return rect.x <= point[0] <= rect.right and rect.y <= point[1] <= rect.bottom


def within(inner: Rect, outer: Rect) -> bool:
    eps = 1e-6
    return (inner.x >= outer.x - eps and inner.y >= outer.y - eps and inner.right <= outer.right + eps
            and inner.bottom <= outer.bottom + eps)


def balloons_of(page, panel):
    box = panel.bbox
    return [b for b in page.balloons if within(b.rect, box)]


# --- parsing -------------------------------------------------------------------------------------------------

def test_full_script_is_parsed_with_lettering_kinds_notes_and_line_numbers():
    script = parse(FULL_SCRIPT)
    assert script.title == "THE LAST LIGHTHOUSE"
    assert [p.numbers for p in script.pages] == [[1], [2]]
    first = script.pages[0].panels
    assert [p.number for p in first] == [1, 2, 3, 4]
    assert first[0].shape == "wide" and first[0].line == 6
    assert [(i.kind, i.number) for i in first[0].lettering] == [("caption", 1), ("caption", 2)]
    speech, thought = first[1].lettering
    assert (speech.kind, speech.speaker, speech.text, speech.line) == ("speech", "ANA",
                                                                       "Almost there... Just a few more steps.", 15)
    assert thought.kind == "thought"
    assert first[2].notes == ["Reference: Fresnel lens photos"] and "Reference" not in first[2].description
    assert [i.kind for i in first[2].lettering] == ["sfx"]
    assert [(i.kind, i.speaker) for i in first[3].lettering] == [("off", "BOB"), ("whisper", "ANA")]
    assert script.problems == []


def test_headings_in_words_digits_and_punctuation():
    text = "Page Twenty-One\nPanel 1.\nA door.\nPAGE 22:\nPANEL ONE - The hall.\npanel two\nA cat.\n"
    script = parse(text)
    assert [p.numbers for p in script.pages] == [[21], [22]]
    assert [p.description for p in script.pages[1].panels] == ["The hall.", "A cat."]
    assert "missing" not in " ".join(p.message for p in script.problems)


def test_markdown_script():
    script = parse(MARKDOWN_SCRIPT)
    assert script.title == "Night Shift"
    assert [p.numbers for p in script.pages] == [[1], [2]]
    panel = script.pages[0].panels[0]
    assert panel.description == "A neon-lit street. Kai walks past a noodle bar."
    assert [(i.kind, i.speaker, i.text) for i in panel.lettering] == [
        ("speech", "Kai", "Another rainy night."), ("caption", "", "Neo-Osaka, 2089.")]
    assert script.pages[0].panels[1].lettering[0].kind == "thought"
    assert script.pages[1].panels[0].lettering[0].kind == "sfx"
    assert script.problems == []


def test_fountain_scene_text():
    script = parse(FOUNTAIN_SCRIPT)
    assert script.title == "Rooftops"
    assert len(script.pages) == 2  # one page per scene
    panels = script.pages[0].panels
    assert [p.description for p in panels] == ["Mira crouches at the edge, watching the street below.",
                                               "Two figures climb the fire escape."]
    assert [(i.kind, i.speaker, i.text) for i in panels[0].lettering] == [("whisper", "MIRA", "They're here.")]
    assert [(i.kind, i.speaker, i.text) for i in panels[1].lettering] == [("speech", "JONAS", "We should go. Now.")]
    assert script.pages[1].panels[0].description == "Mira and Jonas run down the stairs."


def test_what_is_not_understood_is_reported_with_its_line():
    text = "Title: T\nSome stray remark here\nthat goes on\nPAGE 1\nANA: too early\nPANEL 1\nA room.\n[open note\n"
    script = parse(text)
    lines = {p.line: p.message for p in script.problems}
    assert 3 in lines and "before the first page" in lines[3]
    assert 5 in lines and "before the first panel" in lines[5]
    assert 8 in lines and "never closed" in lines[8]
    assert script.pages[0].panels[0].notes == ["open note"]


# --- layout ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("count, template", [(1, "splash"), (2, "2-tier"), (3, "3-tier"), (4, "grid-2x2"),
                                             (5, "manga-5"), (6, "grid-2x3")])
def test_layout_from_panel_count(count, template):
    polygons, used = page_layout.frames(Rect(10, 10, 190, 277), 5.0, [""] * count)
    assert used == template and len(polygons) == count


@pytest.mark.parametrize("count, rows", [(7, [3, 2, 2]), (8, [3, 3, 2]), (9, [3, 3, 3]), (10, [3, 3, 2, 2])])
def test_more_than_six_panels_fill_rows_of_at_most_three(count, rows):
    polygons, _ = page_layout.frames(Rect(10, 10, 190, 277), 5.0, [""] * count)
    ys = [round(Rect.bounding(p).y, 2) for p in polygons]
    assert [ys.count(y) for y in sorted(set(ys))] == rows


def test_wide_tall_and_inset_shapes():
    area = Rect(10, 10, 190, 277)
    boxes = [Rect.bounding(p) for p in page_layout.frames(area, 5.0, ["wide", "", "", "tall", "", ""])[0]]
    assert boxes[0].w == pytest.approx(190) and boxes[0].w > 2 * boxes[1].w  # a row of its own
    assert boxes[3].h > 1.5 * boxes[4].h and boxes[4].x > boxes[3].right  # spans the two stacked beside it
    boxes = [Rect.bounding(p) for p in page_layout.frames(area, 5.0, ["", "inset", ""])[0]]
    assert within(boxes[1], boxes[0]) and boxes[1].w < boxes[0].w / 2  # inside its host


# --- building pages ----------------------------------------------------------------------------------------

def test_full_script_builds_pages_prompts_bindings_and_balloons():
    doc = cast_doc()
    ana, bob = (c.id for c in doc.project.characters)
    summary = import_script(doc, FULL_SCRIPT, source="full.txt")
    assert (summary["pages"], summary["panels"], summary["balloons"]) == (2, 6, 9)
    assert summary["unknown_names"] == ["MYSTERY VOICE"]
    assert {b["name"]: b["panels"] for b in summary["bound"]} == {"Ana": 3, "Bob": 1}
    page1, page2 = doc.project.pages
    assert page1.template is None and page2.template == "2-tier"
    panels = page1.panels
    assert panels[0].prompt == "A lighthouse on a cliff at dusk; storm clouds gather."
    assert panels[0].bbox.w == pytest.approx(page1.safe_rect.w)  # the wide panel spans the page
    assert [b.card for b in panels[1].characters] == [ana]  # speaks and is described
    assert panels[2].characters == []
    assert {b.card for b in panels[3].characters} == {ana, bob}  # Bob by his alias (BOB (OFF) binds nothing)
    assert doc.project.title == "THE LAST LIGHTHOUSE"

    kinds = [(b.kind, b.text) for b in balloons_of(page1, panels[0])]
    assert kinds == [(BalloonKind.CAPTION, "The coast of Brittany. 1923."),
                     (BalloonKind.CAPTION, "The last night the light burned.")]
    assert [b.kind for b in balloons_of(page1, panels[1])] == [BalloonKind.SPEECH, BalloonKind.THOUGHT]
    assert [b.kind for b in balloons_of(page1, panels[2])] == [BalloonKind.SHOUT]
    off, whisper = balloons_of(page1, panels[3])
    assert off.kind == BalloonKind.SPEECH and off.tail is None  # tail-less: the speaker is off panel
    assert whisper.kind == BalloonKind.WHISPER
    for page in doc.project.pages:
        for balloon in page.balloons:
            holder = next(p for p in page.panels if within(balloon.rect, p.bbox))
            assert balloon.font_size == 9.0
            if balloon.kind in (BalloonKind.CAPTION, BalloonKind.SHOUT):
                assert balloon.tail is None
            elif balloon.text != "Ana! Come down!":
                assert balloon.tail is not None and inside(balloon.tail, holder.bbox)
                assert not inside(balloon.tail, balloon.rect)  # the tail leaves the balloon, into the panel


def test_balloons_follow_reading_order_and_the_lettering_size():
    doc = Document()
    edits.set_project_attrs(doc, settings={"lettering_pt": 11.0})
    text = "PAGE 1\nPANEL 1\nA room.\nA: One.\nB: Two.\nC: Three.\nD: Four.\n"
    import_script(doc, text)
    page = doc.project.pages[0]
    assert page.reading_order == ReadingOrder.LTR
    rects = [b.rect for b in page.balloons]
    assert [b.font_size for b in page.balloons] == [11.0] * 4
    for a, b in zip(rects, rects[1:]):
        assert b.y > a.y or (b.y >= a.y and b.x > a.x)  # top-left to bottom-right
    assert rects[1].x > rects[0].x


def test_right_to_left_mirrors_panels_and_balloons():
    doc = Document()
    text = "PAGE 1\nPANEL 1\nA cat.\nA: One.\nB: Two.\nPANEL 2\nA dog.\nPANEL 3\nA bird.\nPANEL 4\nA fish.\n"
    summary = import_script(doc, text, direction=ReadingOrder.RTL)
    page = doc.project.pages[0]
    assert page.reading_order == ReadingOrder.RTL and summary["pages"] == 1
    first, second = page.panels[:2]
    assert first.bbox.x > second.bbox.x  # panel 1 at the top right
    assert [p.id for p in page.panels_in_reading_order()] == [p.id for p in page.panels]
    one, two = page.balloons
    assert one.rect.right > two.rect.right  # the first balloon starts at the right
    assert within(one.rect, first.bbox) and within(two.rect, first.bbox)


def test_a_spread_becomes_two_facing_pages():
    doc = Document()
    summary = import_script(doc, SPREAD_SCRIPT)
    assert summary["pages"] == 4 and summary["panels"] == 5
    pages = doc.project.pages
    assert [len(p.panels) for p in pages] == [1, 2, 1, 1]
    assert pages[1].panels[1].prompt == "Ana on the bow."
    assert [b.text for b in pages[1].balloons] == ["Full sail!"]
    keys = doc.project.settings[SETTINGS_KEY]["pages"]
    assert list(keys) == ["1", "2", "3", "4"]


def test_unknown_names_can_become_empty_cards():
    doc = Document()
    summary = import_script(doc, FULL_SCRIPT, create_cards=True)
    assert summary["unknown_names"] == []
    names = sorted(c.name for c in doc.project.characters)
    assert names == ["Ana", "Bob", "Mystery Voice"]
    assert all(c.references == [] for c in doc.project.characters)


def test_the_import_is_one_undo_step():
    doc = cast_doc()
    before = copy.deepcopy(doc.project)
    import_script(doc, FULL_SCRIPT)
    assert doc.undo_stack.count() == 4 and len(doc.project.pages) == 2
    doc.undo_stack.undo()
    assert doc.project == before
    doc.undo_stack.redo()
    assert len(doc.project.pages) == 2


def test_script_lines_lead_to_their_panel():
    doc = Document()
    import_script(doc, FULL_SCRIPT)
    page1 = doc.project.pages[0]
    assert script_panel_at_line(doc.project.settings, 16) == page1.panels[1].id  # inside ANA's balloon text
    assert script_panel_at_line(doc.project.settings, 6) == page1.panels[0].id
    assert script_panel_at_line(doc.project.settings, 2) is None


# --- updating ----------------------------------------------------------------------------------------------------

def _png(color) -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="PNG")
    return buf.getvalue()


def test_update_changes_prompts_and_lettering_adds_panels_flags_removed_and_keeps_images():
    doc = cast_doc()
    import_script(doc, FULL_SCRIPT)
    page1 = doc.project.pages[0]
    lamp, captain = page1.panels[2], page1.panels[3]
    edits.add_variant(doc, lamp.id, _png((10, 20, 30)), seed=1)
    edits.add_variant(doc, lamp.id, _png((40, 50, 60)), seed=2)
    edits.add_variant(doc, captain.id, _png((70, 80, 90)), seed=3)
    kept_variants = [v.id for v in doc.project.find_panel(lamp.id)[1].variants]
    hand_moved = doc.project.pages[1].balloons[0]
    edits.move_items(doc, doc.project.pages[1].id, [hand_moved.id], 3, 4)

    edited = (FULL_SCRIPT.replace("Close on the lamp mechanism.", "Close on the brass lamp mechanism.")
              .replace("Panel 3.", "PANEL 3").replace("7. ANA (WHISPER): Not now, Bob.", "")
              .replace("PANEL 2\nSea serpent rising in the beam.\n\nMYSTERY VOICE: Who wakes me?\n", "")
              + "\nPAGE THREE\n\nPANEL 1\nDawn over the calm sea.\n")
    edited = edited.replace("PAGE TWO\n", "PAGE TWO\n")
    before_undo = copy.deepcopy(doc.project)
    steps = doc.undo_stack.count()
    summary = import_script(doc, edited, update=True)
    assert doc.undo_stack.count() == steps + 1
    assert summary["pages"] == 3 and summary["added_panels"] == 1 and summary["updated_panels"] == 1
    pages = doc.project.pages
    assert len(pages) == 3 and pages[2].panels[0].prompt == "Dawn over the calm sea."
    _, lamp_now = doc.project.find_panel(lamp.id)
    assert lamp_now.prompt == "Close on the brass lamp mechanism."
    assert [v.id for v in lamp_now.variants] == kept_variants and lamp_now.image is not None
    assert doc.project.find_panel(captain.id)[1].image is not None
    assert [b.text for b in balloons_of(pages[0], doc.project.find_panel(captain.id)[1])] == ["Ana! Come down!"]
    # the sea serpent panel left the script: flagged, not deleted
    serpent = before_undo.pages[1].panels[1]
    assert summary["removed_panels"] == [serpent.id]
    assert doc.project.find_panel(serpent.id)[1].prompt == "Sea serpent rising in the beam."
    assert doc.project.settings[SETTINGS_KEY]["removed"] == [serpent.id]
    # unchanged lettering keeps the user's placement
    assert pages[1].balloon(hand_moved.id).rect == before_undo.pages[1].balloon(hand_moved.id).rect
    # one undo step returns the book as it was
    doc.undo_stack.undo()
    assert doc.project == before_undo


def test_update_survives_a_save_and_load(tmp_path):
    doc = Document()
    import_script(doc, FULL_SCRIPT)
    path = tmp_path / "book.comic"
    save_project(doc.project, path)
    again = Document(load_project(path), path)
    summary = import_script(again, FULL_SCRIPT.replace("A lighthouse", "An old lighthouse"), update=True)
    assert summary["updated_panels"] == 1 and summary["added_panels"] == 0 and summary["removed_panels"] == []
    assert [p.id for p in again.project.pages] == [p.id for p in doc.project.pages]


def test_update_without_an_earlier_import_is_refused():
    with pytest.raises(ScriptError, match="without --update"):
        import_script(Document(), FULL_SCRIPT, update=True)


def test_card_aliases_load_from_an_old_manifest(tmp_path):
    doc = Document()
    edits.add_card(doc, "character", "Ana")
    path = tmp_path / "old.comic"
    save_project(doc.project, path)
    card = load_project(path).characters[0]
    assert isinstance(card, CharacterCard) and card.aliases == []


# --- hostile scripts ------------------------------------------------------------------------------------------

def test_ten_megabyte_script_is_refused(tmp_path, capsys):
    big = tmp_path / "big.txt"
    big.write_bytes(b"PAGE 1\nPANEL 1\n" + b"word " * (2 * 1024 * 1024))
    code, out, err = run(capsys, "script", tmp_path / "b.comic", "--from", big)
    assert code == 2 and out == "" and "big.txt" in one_error_line(err)
    assert not (tmp_path / "b.comic").exists()


def test_binary_script_is_refused(tmp_path, capsys):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 40)
    code, _, err = run(capsys, "script", tmp_path / "b.comic", "--from", junk)
    assert code == 2 and "not a text file" in one_error_line(err)
    with pytest.raises(ScriptError):
        decode_script(b"\x01\x02\x03\x04" * 500)


def test_ten_thousand_pages_are_refused_quickly(tmp_path, capsys):
    script = tmp_path / "huge.txt"
    script.write_text("".join(f"PAGE {n}\nPANEL 1\nA room.\n" for n in range(1, 10_001)))
    start = time.perf_counter()
    code, _, err = run(capsys, "script", tmp_path / "b.comic", "--from", script)
    assert time.perf_counter() - start < 5
    assert code == 2 and f"more than {MAX_PAGES} pages" in one_error_line(err)


def test_too_many_panels_and_long_lines_are_bounded():
    text = "PAGE 1\n" + "".join(f"PANEL {n}\nA room.\n" for n in range(1, 40)) + "PAGE 2\nPANEL 1\n" + "x" * 9000
    script = parse(text)
    assert len(script.pages[0].panels) == 24
    assert any("more than 24 panels" in p.message for p in script.problems)
    assert len(script.pages[1].panels[0].description) <= 4000


# --- the command line -------------------------------------------------------------------------------------------

def test_script_command_creates_the_project_and_prints_the_summary(tmp_path, capsys):
    source = tmp_path / "full.txt"
    source.write_text(FULL_SCRIPT)
    path = tmp_path / "book.comic"
    code, out, err = run(capsys, "script", path, "--from", source, "--size", "B5")
    assert code == 0 and err == ""
    summary = json.loads(out)
    assert set(summary) >= {"pages", "panels", "balloons", "bound", "unknown_names", "problems"}
    assert (summary["pages"], summary["panels"], summary["balloons"]) == (2, 6, 9)
    project = load_project(path)
    assert project.pages[0].size_name == "B5" and project.pages[0].reading_order == ReadingOrder.RTL

    code, out, _ = run(capsys, "info", path)
    info = json.loads(out)
    balloons = info["pages"][0]["balloons"]
    assert set(balloons[0]) == {"id", "kind", "text", "panel"}
    panel_ids = [p["id"] for p in info["pages"][0]["panels"]]
    assert balloons[0]["panel"] == panel_ids[0] and balloons[0]["kind"] == "caption"
    assert [b["kind"] for b in balloons][-1] == "whisper"

    source.write_text(FULL_SCRIPT.replace("Wide panel. ", "Wide panel. Night. "))
    code, out, err = run(capsys, "script", path, "--from", source, "--update", "--direction", "ltr")
    assert code == 0 and json.loads(out)["updated_panels"] == 1
    assert load_project(path).pages[0].reading_order == ReadingOrder.LTR


def test_script_command_errors_are_one_line(tmp_path, capsys):
    nothing = tmp_path / "nothing.txt"
    nothing.write_text("Just a title\n\nand some words\n")
    code, _, err = run(capsys, "script", tmp_path / "b.comic", "--from", nothing)
    assert code == 2 and "nothing.txt" in one_error_line(err)
    code, _, err = run(capsys, "script", tmp_path / "b.comic", "--from", tmp_path / "missing.txt")
    assert code == 2 and "does not exist" in one_error_line(err)
    source = tmp_path / "s.txt"
    source.write_text(FULL_SCRIPT)
    code, _, err = run(capsys, "script", tmp_path / "new.comic", "--from", source, "--update")
    assert code == 2 and "without --update" in one_error_line(err)
    code, _, err = run(capsys, "script", tmp_path / "b.comic", "--from", source, "--size", "huge")
    assert code == 2 and "unknown page size" in one_error_line(err)
    assert not Path(tmp_path / "b.comic").exists()


def test_an_off_panel_speaker_is_not_bound_but_one_in_the_picture_is():
    doc = cast_doc()
    ana = doc.project.characters[0].id
    import_script(doc, "PAGE 1\nPANEL 1\nAn empty kitchen.\nBOB (OFF): Dinner!\nana: Coming!\n")
    panel = doc.project.pages[0].panels[0]
    assert [b.card for b in panel.characters] == [ana]  # "ana" in lower case: a card name is a speaker
