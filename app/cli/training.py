"""Command line for character consistency: ``sheet`` (a character sheet page) and ``train`` (a LoRA)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.device import DEVICES

from .common import card as find_card, document, float_above, int_in, save, command
from .common import ALLOW_OUTSIDE_HELP


def cmd_sheet(args: argparse.Namespace) -> int:
    from .. import sheet

    doc = document(args.path)
    find_card(doc, args.card, args.path, character=True)
    page_id = sheet.create_sheet_page(doc, args.card, size=args.size, seed=args.seed)
    save(doc)
    page = doc.project.page(page_id)
    print(json.dumps({"page": page_id, "number": doc.project.page_index(page_id) + 1,
                      "tiles": [{"panel": p.id, "view": sheet.view_of(p).key} for p in page.panels]}))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from engine.registry import ModelRegistry
    from engine.training import train_lora

    from .. import sheet
    from .. import edits
    from ..generation.request import choose_model

    doc = document(args.path)
    card = find_card(doc, args.card, args.path, character=True)
    registry = ModelRegistry(args.models)
    base = choose_model(doc.project, registry, args.model, Path(args.path).parent)
    overrides = {k: v for k, v in {"steps": args.steps, "rank": args.rank, "learning_rate": args.lr,
                                   "resolution": args.resolution, "device": args.device,
                                   "checkpoint_every": args.checkpoint_every,
                                   "resume_from": "latest" if args.resume else None}.items() if v is not None}
    request = sheet.card_training_request(doc, card.id, base, **overrides)
    for warning in request.validate():
        print(f"note: {warning}", file=sys.stderr)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=request.steps or 0, desc=f"train {card.name}", unit="step", file=sys.stderr, leave=False)

    def on_step(step: int, total: int, loss: float) -> None:
        if bar is not None:
            bar.total = total
            bar.n = step
            bar.set_postfix(loss=f"{loss:.4f}")
            bar.refresh()

    try:
        result = train_lora(request, on_step=on_step, registry=registry)
    finally:
        if bar is not None:
            bar.close()
    edits.attach_lora(doc, card.id, str(result.lora_path))
    save(doc)
    losses = result.loss_history
    print(json.dumps({"card": card.id, "lora": str(result.lora_path), "steps": result.steps,
                      "loss_first": round(losses[0], 5) if losses else None,
                      "loss_last": round(losses[-1], 5) if losses else None,
                      "seconds": round(result.seconds, 2), "resumed_from": result.resumed_from_step,
                      "warnings": list(result.warnings)}))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = command(subparsers, "sheet", cmd_sheet, "add a character sheet page (views, expressions) for a card")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--card", metavar="ID", required=True)
    p.add_argument("--size", metavar="NAME|WxHmm", help="page size (default: like the last page)")
    p.add_argument("--seed", type=int_in(0, 2**32 - 1, "--seed"))

    p = command(subparsers, "train", cmd_train, "train a LoRA for a character card from its references")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--card", metavar="ID", required=True)
    p.add_argument("--steps", type=int_in(1, 100000, "--steps"))
    p.add_argument("--rank", type=int_in(1, 256, "--rank"))
    p.add_argument("--lr", type=float_above(0, 1, "--lr", "1e-4"), metavar="RATE", help="learning rate")
    p.add_argument("--resolution", type=int_in(64, 2048, "--resolution"))
    p.add_argument("--checkpoint-every", type=int_in(1, 100000, "--checkpoint-every"), metavar="N")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    p.add_argument("--models", metavar="DIR")
    p.add_argument("--model", metavar="NAME|PATH", help="base model (default: the project's, or the only one)")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--allow-outside-paths", action="store_true", help=ALLOW_OUTSIDE_HELP)
