"""Model families that Panelsmith runs: which diffusers pipeline classes each uses, its native size,
how it takes reference images, and the licence of its weights (plain Python, no torch).

A diffusers folder is recognised by the ``_class_name`` in its ``model_index.json``: only names in
:data:`FOLDER_CLASSES` count, and the classes loaded are always this table's own (looked up by name
in the installed diffusers package), never code a folder names.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Family:
    """One model family.

    ``pipelines``: diffusers class names per task (``txt2img`` with reference images, ``inpaint`` for
    vary/pan). ``max_references``: how many reference images one call takes (more are composed side
    by side into the last one). ``reference_word``: how a prompt names the n-th reference image for
    this model. ``guidance_kwarg``: the call argument the sampling guidance goes to (None: the model
    is guidance-distilled and takes none). ``negative``: whether the pipeline takes a negative prompt.
    ``needs_image``: the pipeline cannot draw without an input image; with no reference it starts from
    a white canvas of the output size.
    """

    arch: str
    label: str
    licence: str
    commercial: bool
    pipelines: dict[str, str] = field(default_factory=dict)
    native_size: tuple[int, int] = (1024, 1024)
    max_references: int = 0
    reference_word: str = "image {n}"
    guidance_kwarg: Optional[str] = "guidance_scale"
    negative: bool = True
    can_edit: bool = False
    needs_image: bool = False

    @property
    def licence_line(self) -> str:
        """The licence as users must see it: a non-commercial licence says so."""
        return self.licence if self.commercial else f"{self.licence} (non-commercial use only)"


SD15 = Family("sd15", "Stable Diffusion 1.5", "CreativeML OpenRAIL-M (check the checkpoint's own terms)", True,
              native_size=(512, 512))
SDXL = Family("sdxl", "Stable Diffusion XL", "CreativeML OpenRAIL++-M (check the checkpoint's own terms)", True)
FLUX2_KLEIN = Family(
    "flux2-klein", "FLUX.2 [klein]", "Apache-2.0", True,
    pipelines=dict(txt2img="Flux2KleinPipeline", inpaint="Flux2KleinInpaintPipeline"),
    max_references=4, reference_word="image {n}", guidance_kwarg=None, negative=False, can_edit=True)
QWEN_IMAGE_EDIT = Family(
    "qwen-image-edit", "Qwen-Image-Edit (2509/2511)", "Apache-2.0", True,
    pipelines=dict(txt2img="QwenImageEditPlusPipeline", inpaint="QwenImageEditInpaintPipeline"),
    max_references=3, reference_word="Picture {n}", guidance_kwarg="true_cfg_scale", can_edit=True,
    needs_image=True)
FLUX_KONTEXT = Family(
    "flux-kontext", "FLUX.1 Kontext [dev]", "FLUX.1 [dev] Non-Commercial License", False,
    pipelines=dict(txt2img="FluxKontextPipeline", inpaint="FluxKontextInpaintPipeline"),
    max_references=1, reference_word="the reference image", guidance_kwarg="guidance_scale", negative=False,
    can_edit=True)

FAMILIES: dict[str, Family] = {f.arch: f for f in (SD15, SDXL, FLUX2_KLEIN, QWEN_IMAGE_EDIT, FLUX_KONTEXT)}

#: model_index.json ``_class_name`` -> family arch (the only folder classes reference families accept).
FOLDER_CLASSES: dict[str, str] = {
    "Flux2KleinPipeline": FLUX2_KLEIN.arch, "Flux2KleinInpaintPipeline": FLUX2_KLEIN.arch,
    "Flux2KleinKVPipeline": FLUX2_KLEIN.arch,
    "QwenImageEditPlusPipeline": QWEN_IMAGE_EDIT.arch, "QwenImageEditPipeline": QWEN_IMAGE_EDIT.arch,
    "QwenImageEditInpaintPipeline": QWEN_IMAGE_EDIT.arch,
    "FluxKontextPipeline": FLUX_KONTEXT.arch, "FluxKontextInpaintPipeline": FLUX_KONTEXT.arch,
}

#: Sampling presets of the flow-matching families (steps, guidance); the pipeline keeps its own scheduler.
FLOW_SAMPLING: dict[str, dict[str, tuple[int, float]]] = {
    FLUX2_KLEIN.arch: {"fast": (4, 1.0), "quality": (8, 1.0)},
    QWEN_IMAGE_EDIT.arch: {"fast": (20, 4.0), "quality": (40, 4.0)},
    FLUX_KONTEXT.arch: {"fast": (20, 2.5), "quality": (28, 2.5)},
}
FLOW_SCHEDULER = "flow"


def family_of(arch: str) -> Optional[Family]:
    """The family of an arch value ("sd15", "flux2-klein", …); None when unknown."""
    return FAMILIES.get(arch)


def is_reference_family(arch: str) -> bool:
    family = FAMILIES.get(arch)
    return bool(family and family.pipelines)


def cannot_edit_message(model: str, arch: str) -> str:
    family = FAMILIES.get(arch)
    what = family.label if family else "this kind of model"
    able = ", ".join(f.label for f in FAMILIES.values() if f.can_edit)
    return f"model {model} ({what}) cannot edit by instruction; choose a {able} model"
