"""Undo/redo fuzz: random edit sequences through app.edits; undo all = start, redo all = end."""

from __future__ import annotations

import copy
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from app import edits, layout
from app.document import Document
from tests.helpers_project import random_op


def _run(seed: int, n_ops: int, start_pages: int) -> None:
    rng = random.Random(seed)
    doc = Document()
    for _ in range(start_pages):  # a non-empty starting document, made outside the undo history
        edits.add_page(doc, rng.choice(list(layout.PAGE_SIZES.values())), rng.choice([None, "grid-2x3"]))
    doc.undo_stack.clear()
    start = copy.deepcopy(doc.project)
    states = [copy.deepcopy(doc.project)]
    names = []
    for _ in range(n_ops):
        before = doc.undo_stack.count()
        names.append(random_op(doc, rng))
        if doc.undo_stack.count() != before:
            states.append(copy.deepcopy(doc.project))
    end = copy.deepcopy(doc.project)
    stack = doc.undo_stack
    assert stack.count() == len(states) - 1, names
    # step back through every intermediate state
    for i in range(stack.count(), 0, -1):
        stack.undo()
        assert doc.project == states[i - 1], (seed, i, names)
    assert doc.project == start
    while stack.canRedo():
        stack.redo()
    assert doc.project == end
    # undo half, then a new edit drops the redo tail
    for _ in range(stack.count() // 2):
        stack.undo()
    random_op(doc, rng)
    while stack.canUndo():
        stack.undo()
    assert doc.project == start


@settings(max_examples=40, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(1, 60), start_pages=st.integers(0, 2))
def test_undo_redo_fuzz(seed, n_ops, start_pages):
    _run(seed, n_ops, start_pages)


def test_undo_redo_long_sequence():
    _run(12345, 300, 1)


def test_modified_flag_follows_undo():
    doc = Document()
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "grid-2x2")
    doc.mark_saved()
    assert not doc.modified
    panel = doc.project.pages[0].panels[0].id
    edits.set_panel_fields(doc, panel, prompt="a")
    assert doc.modified
    doc.undo_stack.undo()
    assert not doc.modified


def _merged_sequence(seed: int, n_ops: int) -> None:
    """Typing-like edits with ``merge=True``: consecutive edits of the same panel field fold into one undo step,
    any other edit in between starts a new one. The expected step count comes from the keys, not the code."""
    rng = random.Random(seed)
    doc = Document()
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "grid-2x2")
    doc.undo_stack.clear()
    panels = [p.id for p in doc.project.pages[0].panels]
    states = [copy.deepcopy(doc.project)]
    last_key = None
    for i in range(n_ops):
        panel = rng.choice(panels[:2])
        field = rng.choice(["prompt", "negative_prompt"])
        key = (panel, field)
        edits.set_panel_fields(doc, panel, merge=True, **{field: f"text {i}"})
        if key == last_key:
            states[-1] = copy.deepcopy(doc.project)  # folded into the previous step
        else:
            states.append(copy.deepcopy(doc.project))
        last_key = key
        assert doc.undo_stack.count() == len(states) - 1, (seed, i, key)
    for i in range(doc.undo_stack.count(), 0, -1):
        doc.undo_stack.undo()
        assert doc.project == states[i - 1], (seed, i)


@settings(max_examples=30, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(2, 30))
def test_merged_edits_fold_only_with_the_same_key(seed, n_ops):
    _merged_sequence(seed, n_ops)
