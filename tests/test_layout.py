"""Page presets, templates and the frame tools' geometry, as an illustrator sees them."""

import copy

import pytest
from PIL import Image

from app import edits, layout
from app.document import Document
from app.project import Project, Rect


@pytest.fixture
def doc():
    d = Document(Project())
    edits.add_page(d, layout.PAGE_SIZES["A4"], "grid-2x2")
    return d


def page_of(doc):
    return doc.project.pages[0]


def test_presets_have_print_sizes():
    us = layout.PAGE_SIZES["US-comic"]
    assert (round(us.width_mm / 25.4, 3), round(us.height_mm / 25.4, 3)) == (6.625, 10.25)
    # trim plus bleed is the 6.875 x 10.5 in printer's size
    assert round((us.width_mm + 2 * us.bleed_mm) / 25.4, 3) == 6.875
    assert round((us.height_mm + 2 * us.bleed_mm) / 25.4, 3) == 10.5
    assert layout.PAGE_SIZES["B5"].reading_order.value == "rtl"
    web = layout.PAGE_SIZES["webtoon"]
    assert round(web.width_mm / 25.4 * web.dpi) == 800


def test_custom_size_and_bad_size():
    assert layout.parse_page_size("150x200mm").width_mm == 150
    assert layout.parse_page_size("a4").name == "A4"
    with pytest.raises(ValueError, match="unknown page size"):
        layout.parse_page_size("A17")
    with pytest.raises(ValueError, match="out of range"):
        layout.parse_page_size("1x99999mm")


@pytest.mark.parametrize("name,count", [("splash", 1), ("2-tier", 2), ("3-tier", 3), ("grid-2x2", 4),
                                        ("grid-2x3", 6), ("manga-5", 5)])
def test_templates_fill_safe_area_with_gutters(name, count):
    page = layout.new_page(layout.PAGE_SIZES["A4"], name)
    assert len(page.panels) == count
    safe = page.safe_rect
    boxes = [p.bbox for p in page.panels]
    assert min(b.x for b in boxes) == pytest.approx(safe.x)
    assert max(b.right for b in boxes) == pytest.approx(safe.right)
    assert max(b.bottom for b in boxes) == pytest.approx(safe.bottom)
    # no two panels overlap, and neighbours are exactly one gutter apart
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap_x = min(a.right, b.right) - max(a.x, b.x)
            overlap_y = min(a.bottom, b.bottom) - max(a.y, b.y)
            assert overlap_x <= 1e-6 or overlap_y <= 1e-6
            if overlap_y > 0 and overlap_x < 0:
                assert -overlap_x >= page.gutter_mm - 1e-6


def test_unknown_template_is_a_clear_error(doc):
    with pytest.raises(ValueError, match="unknown template 'grid-9x9'"):
        edits.apply_template(doc, page_of(doc).id, "grid-9x9")


def test_knife_split_leaves_gutter_and_undo_restores(doc):
    page = page_of(doc)
    before = copy.deepcopy(doc.project)
    target = page.panels[0]
    a, b = edits.split_panel_evenly(doc, page.id, target.id, vertical=False)
    page = page_of(doc)
    top, bottom = page.panel(a).bbox, page.panel(b).bbox
    assert bottom.y - top.bottom == pytest.approx(page.gutter_mm)
    assert top.x == bottom.x and top.w == bottom.w == target.bbox.w
    assert page.panel(a).is_rect and page.panel(b).is_rect
    doc.undo_stack.undo()
    assert doc.project == before


def test_diagonal_knife_makes_two_polygons(doc):
    page = page_of(doc)
    box = page.panels[0].bbox
    a, b = edits.split_panel(doc, page.id, page.panels[0].id, (box.x - 1, box.y + 10), (box.right + 1, box.bottom - 10))
    page = page_of(doc)
    area = layout.polygon_area(page.panel(a).points) + layout.polygon_area(page.panel(b).points)
    assert area < box.w * box.h  # the gutter strip is gone
    assert not page.panel(a).is_rect


def test_knife_missing_the_panel_is_refused(doc):
    page = page_of(doc)
    box = page.panels[0].bbox
    with pytest.raises(ValueError, match="does not cross"):
        edits.split_panel(doc, page.id, page.panels[0].id, (box.right + 50, 0), (box.right + 50, 300))
    assert doc.undo_stack.count() == 1  # only the page was added


def test_merge_restores_split_frame(doc):
    page = page_of(doc)
    original = page.panels[0].bbox
    a, b = edits.split_panel_evenly(doc, page.id, page.panels[0].id, vertical=True)
    merged = edits.merge_panels(doc, page.id, [a, b])
    assert page_of(doc).panel(merged).bbox == original
    assert len(page_of(doc).panels) == 4


def test_gutter_change_reflows_panels(doc):
    page = page_of(doc)
    edits.set_page_props(doc, page.id, gutter_mm=11.0)
    boxes = sorted((p.bbox for p in page_of(doc).panels), key=lambda r: (r.y, r.x))
    assert boxes[1].x - boxes[0].right == pytest.approx(11.0)
    assert boxes[2].y - boxes[0].bottom == pytest.approx(11.0)
    assert boxes[0].x == pytest.approx(page.safe_rect.x)  # outer edges stay on the safe area
    doc.undo_stack.undo()
    assert page_of(doc).gutter_mm == 5.0


def test_move_is_one_undo_step_and_absurd_geometry_refused(doc):
    page = page_of(doc)
    ids = [p.id for p in page.panels[:2]]
    edits.move_items(doc, page.id, ids, 3.0, -2.0)
    assert doc.undo_stack.count() == 2
    assert page_of(doc).panel(ids[0]).bbox.x == pytest.approx(page.panels[0].bbox.x + 3.0)
    with pytest.raises(ValueError, match="off the page"):
        edits.move_items(doc, page.id, ids, 1e9, 0)
    with pytest.raises(ValueError, match="too small"):
        edits.add_panel(doc, page.id, Rect(10, 10, 0.1, 0.1))


def test_reading_order_ltr_and_rtl(doc):
    page = page_of(doc)
    ltr = [p.bbox.x for p in page.panels_in_reading_order()]
    assert ltr[0] < ltr[1]
    edits.set_page_props(doc, page.id, reading_order="rtl")
    from app.project import ReadingOrder
    edits.set_page_props(doc, page.id, reading_order=ReadingOrder.RTL)
    rtl = [p.bbox.x for p in page_of(doc).panels_in_reading_order()]
    assert rtl[0] > rtl[1]


def test_bind_weights_are_validated_and_typing_merges(doc):
    panel_id = page_of(doc).panels[0].id
    char = edits.add_card(doc, "character", "Mia", [Image.new("RGB", (16, 16), "red")])
    style = edits.add_card(doc, "style", "Ink", [Image.new("RGB", (16, 16), "black")])
    edits.bind_card(doc, panel_id, char, 0)
    edits.bind_card(doc, panel_id, style)
    panel = page_of(doc).panel(panel_id)
    assert [(b.card, b.weight) for b in panel.characters] == [(char, 0)]
    assert [(b.card, b.weight) for b in panel.styles] == [(style, 100)]
    with pytest.raises(ValueError, match="cw must be between 0 and 100"):
        edits.bind_card(doc, panel_id, char, 101)
    with pytest.raises(ValueError, match="sw must be between 0 and 1000"):
        edits.bind_card(doc, panel_id, style, 1001)
    count = doc.undo_stack.count()
    for text in ["a", "a g", "a girl"]:
        edits.set_panel_fields(doc, panel_id, merge=True, prompt=text)
    assert doc.undo_stack.count() == count + 1
    doc.undo_stack.undo()
    assert page_of(doc).panel(panel_id).prompt == ""


def test_remove_card_unbinds_in_one_step(doc):
    panel_id = page_of(doc).panels[0].id
    char = edits.add_card(doc, "character", "Mia", [Image.new("RGB", (16, 16), "red")])
    edits.bind_card(doc, panel_id, char, 50)
    before = copy.deepcopy(doc.project)
    edits.remove_card(doc, char)
    assert not page_of(doc).panel(panel_id).characters and not doc.project.characters
    doc.undo_stack.undo()
    assert doc.project == before


def test_variants_pick_and_modified_flag(doc):
    panel_id = page_of(doc).panels[0].id
    doc.mark_saved()
    assert not doc.modified
    ids = edits.add_variants(doc, panel_id, [(Image.new("RGB", (8, 8), c), s) for c, s in [("red", 1), ("blue", 2)]],
                             kind="generate", prompt="x")
    panel = page_of(doc).panel(panel_id)
    assert panel.current == ids[0] and len(doc.project.images) == 2 and doc.modified
    edits.pick_variant(doc, panel_id, ids[1])
    assert page_of(doc).panel(panel_id).current_variant().seed == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert not doc.modified and len(doc.project.images) == 0


def test_self_intersection_check():
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert not layout.self_intersects(square)
    assert not layout.self_intersects([(0.0, 0.0), (10.0, 0.0), (6.0, 6.0), (0.0, 10.0)])  # concave is fine
    assert layout.self_intersects([(0.0, 0.0), (10.0, 10.0), (10.0, 0.0), (0.0, 10.0)])    # bow tie
    assert layout.self_intersects([(0.0, 0.0), (10.0, 0.0), (5.0, 0.0), (5.0, 10.0)])      # folds back
    assert layout.self_intersects([(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (10.0, 5.0)])    # corner on an edge


def test_validate_polygon_refuses_bad_corners(doc):
    page = page_of(doc)
    layout.validate_polygon([(20.0, 20.0), (80.0, 20.0), (70.0, 90.0), (20.0, 80.0)], page)
    with pytest.raises(ValueError, match="cross itself"):
        layout.validate_polygon([(20.0, 20.0), (80.0, 80.0), (80.0, 20.0), (20.0, 80.0)], page)
    with pytest.raises(ValueError, match="on top of each other"):
        layout.validate_polygon([(20.0, 20.0), (20.1, 20.0), (80.0, 80.0), (20.0, 80.0)], page)
    panel = page.panels[0]
    with pytest.raises(ValueError):
        edits.set_geometry(doc, page.id, {panel.id: [(20.0, 20.0), (80.0, 80.0), (80.0, 20.0), (20.0, 80.0)]})


def test_add_items_is_one_step_with_new_ids_and_images(doc):
    from app import clipboard

    page = page_of(doc)
    panel = page.panels[0]
    char = edits.add_card(doc, "character", "Aki", [])
    edits.bind_card(doc, panel.id, char)
    edits.add_variant(doc, panel.id, Image.new("RGB", (20, 10), "green"), kind="import")
    edits.add_balloon(doc, page.id, "speech", Rect(30, 30, 20, 10), "Hi", (35, 50))
    items = clipboard.load_items(clipboard.dump_items(
        clipboard.collect(doc.project, page.id, [panel.id, page_of(doc).balloons[0].id])))
    key = page_of(doc).panel(panel.id).image

    other = Document(Project())
    edits.add_page(other, layout.PAGE_SIZES["A4"])
    other.undo_stack.clear()
    ids, dropped = edits.add_items(other, other.project.pages[0].id, items.panels, items.balloons, items.images,
                                   3, 4)
    assert dropped == [char] and other.undo_stack.count() == 1
    new_panel = other.project.pages[0].panel(ids[0])
    assert new_panel.id != panel.id and new_panel.image == key and key in other.project.images
    assert new_panel.characters == [] and new_panel.current == new_panel.variants[0].id
    assert new_panel.bbox.x == pytest.approx(panel.bbox.x + 3)
    balloon = other.project.pages[0].balloon(ids[1])
    assert balloon.tail == (38, 54) and balloon.text == "Hi"
    other.undo_stack.undo()
    assert other.project.pages[0].panels == [] and key not in other.project.images
    # the same project keeps the binding
    ids, dropped = edits.add_items(doc, page.id, items.panels, [], items.images)
    assert dropped == [] and page_of(doc).panel(ids[0]).characters[0].card == char
    with pytest.raises(ValueError):
        clipboard.load_items(b'{"format": "something else"}')
