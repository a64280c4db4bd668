"""Memory: the size of a model from its file headers, the offload mode picked from free GPU memory,
the mode applied to the pipeline, and the line the user reads before a model loads."""
import math

import pytest

from engine.device import DeviceChoice, DeviceOptions, place_pipeline
from engine.jobs import GenerationRequest
from engine.memory import MEMORY_MODES, MemoryEstimate, choose_mode, estimate
from engine.registry import ModelRegistry, read_safetensors_header
from tests.tiny_models import tiny_engine, tiny_models_dir  # noqa: F401  (fixtures)

GIB = 2**30


def test_auto_picks_the_fastest_mode_that_fits_the_free_memory():
    need = MemoryEstimate({"transformer": 12 * 10**9, "text_encoder": 4 * 10**9, "vae": 10**8},
                          {"transformer": 24 * GIB, "text_encoder": 8 * GIB, "vae": GIB // 5})
    assert need.total_bytes == 32 * GIB + GIB // 5 and need.largest_bytes == 24 * GIB
    assert choose_mode("auto", need, 80 * GIB) == "none"
    assert choose_mode("auto", need, 30 * GIB) == "model_offload"  # the transformer fits alone, not all
    assert choose_mode("auto", need, 16 * GIB) == "sequential_offload"
    assert choose_mode("model_offload", need, 80 * GIB) == "model_offload"  # the user's choice wins
    assert all(choose_mode(mode, need, None) == "none" for mode in MEMORY_MODES)  # CPU: nothing to offload
    assert need.peak_bytes("none") > need.peak_bytes("model_offload") > need.peak_bytes("sequential_offload")
    with pytest.raises(ValueError, match="unknown memory mode"):
        choose_mode("lots", need, GIB)


def test_estimate_counts_parameters_from_headers(tiny_models_dir):
    registry = ModelRegistry(tiny_models_dir)
    single = registry.resolve("tiny-sd15-single")
    header = read_safetensors_header(single.path)
    total = sum(math.prod(e["shape"]) for e in header.values())
    sized = estimate(single, "fp16")
    assert sized.total_parameters == total and sized.total_bytes == 2 * total
    assert set(sized.parameters) == {"unet", "vae", "text_encoder"}
    folder = estimate(registry.resolve("tiny-sd"), "fp32")
    assert set(folder.parameters) == {"unet", "vae", "text_encoder"} and folder.total_bytes == 4 * folder.total_parameters


class RecordingPipe:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, kwargs.get("device", args[0] if args else None)))


@pytest.mark.parametrize("mode, call", [("none", "to"), ("model_offload", "enable_model_cpu_offload"),
                                        ("sequential_offload", "enable_sequential_cpu_offload")])
def test_each_mode_is_applied_to_the_pipeline(mode, call):
    pipe = RecordingPipe()
    place_pipeline(pipe, DeviceChoice("cuda:0", "bf16"), DeviceOptions(memory=mode))
    assert pipe.calls[0] == (call, "cuda:0")
    cpu = RecordingPipe()
    place_pipeline(cpu, DeviceChoice("cpu", "fp32"), DeviceOptions(memory=mode))
    assert cpu.calls[0] == ("to", "cpu")  # offload means nothing on the CPU
    legacy = RecordingPipe()
    place_pipeline(legacy, DeviceChoice("cuda", "fp16"), DeviceOptions(cpu_offload=True))
    assert legacy.calls[0][0] == "enable_model_cpu_offload"


def test_the_first_run_says_how_much_memory_before_it_starts(tiny_engine):
    seen, notes = [], []
    tiny_engine.on_note = lambda progress: notes.append((progress, tiny_engine.loads))
    request = GenerationRequest(model="tiny-sd", prompt="a cat", seed=1, steps=1, scheduler="euler", guidance=5.0)
    tiny_engine.run(request, seen.append)
    (first, loads_then), = notes
    assert loads_then == 0 and (first.step, first.total, first.preview) == (0, 0, None)  # before the load
    assert first.note.startswith("tiny-sd: 0.00 B parameters, needs about ") and "of RAM" in first.note
    assert [p.step for p in seen] == [1] and not seen[0].note  # the steps are as before
    tiny_engine.run(request, seen.append)  # loaded already: nothing to say
    assert len(notes) == 1
