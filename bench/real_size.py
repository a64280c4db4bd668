"""Each supported family at its REAL size with random weights: build, two steps at native size, peak memory.

    python bench/real_size.py                       # CPU: the families that fit in --max-gib (24)
    python bench/real_size.py --family sd15 sdxl    # only these
    python bench/real_size.py --device cuda         # a GPU: every family, bf16, plus a 6-panel page
    python bench/real_size.py --tiny                # every family with shrunken configs (a smoke test)

Configs come from resources/model_configs/<family>/ (nothing is downloaded). Each family runs in its own
process, so its peak RSS (CPU) or CUDA max allocated is its own. "build s" is the time to create the
components with random weights (a real load reads them from disk instead); the text encoders run on
random token ids once, and the pipeline gets their embeddings (no tokenizers are shipped). One JSON line
per family, and the JSON summary as the last line.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "resources" / "model_configs"
#: family -> (config folder, native side, few-step count for the page, licence of the real weights)
FAMILIES = {
    "sd15": ("sd15", 512, 8, "CreativeML OpenRAIL-M"),
    "sdxl": ("sdxl", 1024, 8, "CreativeML OpenRAIL++-M"),
    "flux2-klein-4b": ("flux2_klein_4b", 1024, 4, "Apache-2.0"),
    "flux1-kontext-dev": ("flux1_kontext", 1024, 8, "FLUX.1 [dev] Non-Commercial"),
    "qwen-image-edit": ("qwen_image_edit", 1024, 8, "Apache-2.0"),
}
_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


def load_configs(family: str, tiny: bool) -> dict[str, Any]:
    folder = CONFIGS / FAMILIES[family][0]
    out = {"model_index": json.loads((folder / "model_index.json").read_text())}
    for sub in folder.iterdir():
        for name in ("config.json", "scheduler_config.json"):
            if (sub / name).is_file():
                out[sub.name] = json.loads((sub / name).read_text())
    return shrink(out) if tiny else out


def shrink(configs: dict[str, Any]) -> dict[str, Any]:
    """The same components with few layers and narrow widths: exercises every code path in seconds."""
    c = json.loads(json.dumps(configs))
    for name, cfg in c.items():
        cls = cfg.get("_class_name") or (cfg.get("architectures") or [""])[0]
        if cls == "UNet2DConditionModel":
            n = len(cfg["block_out_channels"])
            cfg.update(block_out_channels=[32] * (n - 1) + [64], layers_per_block=1, cross_attention_dim=32 * (1 + ("text_encoder_2" in c)),
                       attention_head_dim=[1] * n if isinstance(cfg["attention_head_dim"], list) else 4)
            if "transformer_layers_per_block" in cfg:
                cfg["transformer_layers_per_block"] = [1] * n
                cfg.update(addition_time_embed_dim=8, projection_class_embeddings_input_dim=32 + 6 * 8)
        elif cls == "AutoencoderKL":
            cfg.update(block_out_channels=[32] * 4, layers_per_block=1)
        elif cls in ("CLIPTextModel", "CLIPTextModelWithProjection"):
            cfg.update(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=1, projection_dim=32)
        elif cls == "T5EncoderModel":
            cfg.update(d_model=32, d_ff=37, d_kv=8, num_heads=4, num_layers=2)
        elif cls == "FluxTransformer2DModel":
            cfg.update(num_layers=1, num_single_layers=1, num_attention_heads=2, attention_head_dim=16,
                       joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=[4, 4, 8])
        elif cls == "Flux2Transformer2DModel":
            cfg.update(num_layers=1, num_single_layers=1, num_attention_heads=2, attention_head_dim=16,
                       joint_attention_dim=3 * 32, axes_dims_rope=[4, 4, 4, 4])
        elif cls == "Qwen3ForCausalLM":
            cfg.update(hidden_size=32, intermediate_size=37, num_hidden_layers=27, num_attention_heads=2,
                       num_key_value_heads=1, head_dim=16, vocab_size=1000)
        elif cls == "AutoencoderKLFlux2":
            cfg.update(block_out_channels=[32] * 4, layers_per_block=1)
        elif cls == "QwenImageTransformer2DModel":
            cfg.update(num_layers=1, num_attention_heads=2, attention_head_dim=16, joint_attention_dim=32,
                       axes_dims_rope=[4, 6, 6])
        elif cls == "Qwen2_5_VLForConditionalGeneration":
            cfg.update(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2,
                       num_key_value_heads=1, vocab_size=1000, rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]})
            cfg["vision_config"].update(depth=1, hidden_size=32, intermediate_size=37, num_heads=2, out_hidden_size=32,
                                        fullatt_block_indexes=[0])
        elif cls == "AutoencoderKLQwenImage":
            cfg.update(base_dim=16)
    return c


def parameters(configs: dict[str, Any], dtype: str) -> tuple[int, int]:
    """(parameters, bytes) of the family without building it (meta tensors)."""
    import torch

    total = 0
    with torch.device("meta"):
        for module in build_components(configs, "meta", torch.float32, materialise=False).values():
            if isinstance(module, torch.nn.Module):
                total += sum(p.numel() for p in module.parameters())
    return total, total * _BYTES[dtype]


def build_components(configs: dict[str, Any], device: str, dtype: Any, materialise: bool = True) -> dict[str, Any]:
    import diffusers
    import torch
    import transformers
    from accelerate import init_empty_weights

    out: dict[str, Any] = {}
    for name, entry in configs["model_index"].items():
        if not isinstance(entry, list) or entry[0] is None:
            continue
        library, cls = entry
        if name == "scheduler" or name not in configs or "Tokenizer" in cls:
            continue
        config = dict(configs[name])
        if library == "diffusers":
            with init_empty_weights(include_buffers=False):
                model = getattr(diffusers, cls).from_config(config)
        else:
            model_type = config.pop("model_type")
            vision = config.pop("vision_config", None)
            cfg = transformers.AutoConfig.for_model(model_type, **config)
            if vision is not None:
                cfg.vision_config = type(cfg.vision_config)(**vision)
            if model_type == "qwen2_5_vl":  # the text model reads its own sub-config in transformers 5
                for key, value in config.items():
                    setattr(cfg.text_config, key, value)
            with init_empty_weights(include_buffers=False):
                model = getattr(transformers, cls)(cfg)
            _tie(model)
        if materialise and isinstance(model, torch.nn.Module):
            model = randomise(model, device, dtype)
        out[name] = model
    return out


def randomise(model: Any, device: str, dtype: Any) -> Any:
    """Real-sized random weights, fast and in one copy: the empty (meta) parameters take `dtype` before any
    memory is allocated, then norms 1, biases 0, the rest N(0, 0.02); the buffers computed at construction
    (position ids, rotary frequencies) are kept, and tied weights (a language model's head and its token
    embedding) are tied again, as a real load ties them."""
    import torch

    buffers = {name: b.clone() for name, b in model.named_buffers()}
    model = model.to(dtype).to_empty(device=device)
    for name, value in buffers.items():
        owner, _, leaf = name.rpartition(".")
        module = model.get_submodule(owner) if owner else model
        if "running_var" in leaf:
            value = torch.ones_like(value)
        module._buffers[leaf] = value.to(device, dtype if value.is_floating_point() else value.dtype)
    _tie(model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1 and ("norm" in name or name.endswith("scale") or "ln" in name):
                p.fill_(1.0)
            elif p.ndim == 1:
                p.zero_()
            else:
                p.normal_(0.0, 0.02)
    return model.eval()


def _tie(model: Any) -> None:
    """Tie a transformers model's shared weights (empty-weight construction and to_empty untie them)."""
    if hasattr(model, "tie_weights") and not hasattr(model, "register_to_config"):
        model.tie_weights()


def embeddings(family: str, parts: dict[str, Any], device: str, dtype: Any) -> dict[str, Any]:
    """Run the text encoders once on random token ids; the pipeline's prompt arguments."""
    import torch

    gen = torch.Generator().manual_seed(0)

    def ids(encoder: Any, length: int) -> Any:
        config = getattr(encoder, "config", encoder)
        vocab = getattr(config, "vocab_size", None) or config.text_config.vocab_size
        return torch.randint(0, vocab, (1, length), generator=gen).to(device)

    with torch.inference_mode():
        if family == "sd15":
            hidden = parts["text_encoder"](ids(parts["text_encoder"], 77))[0]
            return dict(prompt_embeds=hidden, negative_prompt_embeds=hidden.clone())
        if family == "sdxl":
            one = parts["text_encoder"](ids(parts["text_encoder"], 77), output_hidden_states=True)
            two = parts["text_encoder_2"](ids(parts["text_encoder_2"], 77), output_hidden_states=True)
            embeds = torch.cat([one.hidden_states[-2], two.hidden_states[-2]], dim=-1)
            return dict(prompt_embeds=embeds, negative_prompt_embeds=embeds.clone(),
                        pooled_prompt_embeds=two.text_embeds, negative_pooled_prompt_embeds=two.text_embeds.clone())
        if family == "flux1-kontext-dev":
            pooled = parts["text_encoder"](ids(parts["text_encoder"], 77)).pooler_output
            t5 = parts["text_encoder_2"](ids(parts["text_encoder_2"], 512))[0]
            return dict(prompt_embeds=t5, pooled_prompt_embeds=pooled)
        if family == "flux2-klein-4b":
            out = parts["text_encoder"](ids(parts["text_encoder"], 512), output_hidden_states=True)
            stacked = torch.stack([out.hidden_states[k] for k in (9, 18, 27)], dim=1)
            b, n, s, d = stacked.shape
            return dict(prompt_embeds=stacked.permute(0, 2, 1, 3).reshape(b, s, n * d))
        if family == "qwen-image-edit":
            encoder = parts["text_encoder"]
            hidden = encoder.model.language_model(input_ids=ids(encoder, 1024)).last_hidden_state
            mask = torch.ones(hidden.shape[:2], dtype=torch.long, device=device)
            return dict(prompt_embeds=hidden, prompt_embeds_mask=mask)
    raise ValueError(family)


def make_pipeline(configs: dict[str, Any], parts: dict[str, Any]) -> Any:
    import diffusers

    cls = getattr(diffusers, configs["model_index"]["_class_name"])
    scheduler_cls = getattr(diffusers, configs["scheduler"]["_class_name"])
    kwargs = {k: v for k, v in parts.items()}
    kwargs["scheduler"] = scheduler_cls.from_config(configs["scheduler"])
    for name, entry in configs["model_index"].items():
        if isinstance(entry, list) and (entry[0] is None or "Tokenizer" in str(entry[1])):
            kwargs[name] = None
    if "safety_checker" in configs["model_index"]:
        kwargs.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    elif "feature_extractor" in configs["model_index"]:
        kwargs.update(feature_extractor=None, image_encoder=None)
    if configs["model_index"].get("is_distilled") is not None:
        kwargs["is_distilled"] = configs["model_index"]["is_distilled"]
    pipe = cls(**kwargs)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def call_args(family: str, side: int, steps: int, device: str) -> dict[str, Any]:
    import torch
    from PIL import Image

    args: dict[str, Any] = dict(num_inference_steps=steps, width=side, height=side, output_type="np",
                                generator=torch.Generator().manual_seed(0))
    reference = Image.new("RGB", (side, side), (120, 90, 60))
    if family in ("sd15", "sdxl"):
        args["guidance_scale"] = 5.0
    elif family == "flux1-kontext-dev":
        args.update(image=reference, guidance_scale=2.5, _auto_resize=False, max_area=side * side)
    elif family == "flux2-klein-4b":
        args.update(image=[reference], guidance_scale=1.0)
    elif family == "qwen-image-edit":
        args.update(image=[reference], true_cfg_scale=1.0)
    return args


def run_family(family: str, device: str, dtype_name: str, tiny: bool, page: bool) -> dict[str, Any]:
    """Build, encode, two steps at native size (and a 6-panel page on request), in this process."""
    import resource

    import torch

    torch.set_flush_denormal(True)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype_name]
    folder, side, few, licence = FAMILIES[family]
    side = 64 if tiny else side
    configs = load_configs(family, tiny)
    parameters(configs, dtype_name)  # imports the classes, so that the timings below are the models'
    encoders = {k: v for k, v in configs["model_index"].items() if k.startswith("text_encoder")}
    others = {k: v for k, v in configs["model_index"].items() if k not in encoders}
    count = 0
    started = time.perf_counter()
    text = build_components({**configs, "model_index": encoders}, device, dtype)
    build_s = time.perf_counter() - started
    count += sum(p.numel() for m in text.values() for p in m.parameters())
    started = time.perf_counter()
    prompt = embeddings(family, text, device, dtype)
    encode_s = time.perf_counter() - started
    if not (page or device.startswith("cuda")):  # the CPU: the encoders are done (as model offload would)
        text = {k: None for k in text}
    started = time.perf_counter()
    parts = build_components({**configs, "model_index": others}, device, dtype)
    build_s += time.perf_counter() - started
    count += sum(p.numel() for m in parts.values() if isinstance(m, torch.nn.Module) for p in m.parameters())
    pipe = make_pipeline(configs, {**parts, **text})
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    timings: list[float] = []
    cpu_timings: list[float] = []

    def on_step(_p: Any, _i: int, _t: Any, tensors: dict) -> dict:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        timings.append(time.perf_counter())
        cpu_timings.append(time.process_time())
        return tensors

    with torch.inference_mode():
        call_start = time.perf_counter()
        image = pipe(**prompt, **call_args(family, side, 2, device), callback_on_step_end=on_step).images[0]
    total_s = time.perf_counter() - call_start
    step_s = timings[1] - timings[0]
    step_cpu_s = cpu_timings[1] - cpu_timings[0]
    result: dict[str, Any] = dict(
        family=family, licence=licence, device=device, dtype=dtype_name, size=side, parameters_b=round(count / 1e9, 3),
        build_s=round(build_s, 1), encode_s=round(encode_s, 2), s_per_step=round(step_s, 2),
        cpu_s_per_step=round(step_cpu_s, 2), load_average=_load_average(),
        two_steps_with_decode_s=round(total_s, 1), finite=bool(math.isfinite(float(abs(image).sum()))))
    if page:
        started = time.perf_counter()
        for panel in range(6):
            args = call_args(family, side, few, device)
            args["generator"] = torch.Generator().manual_seed(panel)
            with torch.inference_mode():
                pipe(**embeddings(family, text, device, dtype), **args)
        result.update(page_6_panels_s=round(time.perf_counter() - started, 1), page_steps=few)
    if device.startswith("cuda"):
        result["cuda_max_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    else:
        result["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return result


def _load_average() -> float | None:
    """The 1-minute load average (None where /proc/loadavg is missing): timings on a shared machine need it."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _default_max_gib(device: str) -> float:
    """24 GiB on the CPU; on a GPU its free memory, so that a large card runs every family."""
    if not device.startswith("cuda"):
        return 24.0
    import torch

    return torch.cuda.mem_get_info(torch.device(device))[0] / 2**30


def _cpu_has_bf16() -> bool:
    """Whether the CPU computes bf16 natively (AVX512-BF16 or AMX); without them bf16 is about 3x slower than
    fp32 in torch here, so the CPU default stays fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _available_gib() -> float | None:
    """MemAvailable from /proc/meminfo (None elsewhere)."""
    try:
        for row in Path("/proc/meminfo").read_text().splitlines():
            if row.startswith("MemAvailable:"):
                return int(row.split()[1]) / 2**20
    except OSError:
        pass
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", nargs="*", choices=sorted(FAMILIES), help="default: all that fit")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=sorted(_BYTES),
                        help="default: bf16 on CUDA and on CPUs with bf16 instructions, else fp32")
    parser.add_argument("--max-gib", type=float,
                        help="skip families whose weights exceed this (default: 24 on the CPU, the free GPU memory)")
    parser.add_argument("--tiny", action="store_true", help="shrunken configs: a smoke test of every code path")
    parser.add_argument("--page", action="store_true", help="also a 6-panel page (default with --device cuda)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    dtype = args.dtype or ("bf16" if args.device.startswith("cuda") or _cpu_has_bf16() else "fp32")
    page = args.page or args.device.startswith("cuda")
    if args.child:
        print(json.dumps(run_family(args.child, args.device, dtype, args.tiny, page)), flush=True)
        return 0
    max_gib = args.max_gib if args.max_gib is not None else _default_max_gib(args.device)
    results = []
    for family in args.family or list(FAMILIES):
        count, size = parameters(load_configs(family, args.tiny), dtype)
        line: dict[str, Any] = dict(family=family, parameters_b=round(count / 1e9, 3), weights_gib=round(size / 2**30, 1))
        available = _available_gib() if not args.device.startswith("cuda") else None
        if size / 2**30 > max_gib:
            line["skipped"] = f"weights {size / 2**30:.1f} GiB at {dtype} exceed --max-gib {max_gib:g}"
        elif available is not None and size / 2**30 * 1.25 > available:
            line["skipped"] = f"weights {size / 2**30:.1f} GiB at {dtype}; only {available:.1f} GiB of RAM available now"
        else:
            cmd = [sys.executable, __file__, "--child", family, "--device", args.device, "--dtype", dtype]
            cmd += ["--tiny"] * args.tiny + ["--page"] * page
            done = subprocess.run(cmd, capture_output=True, text=True)
            lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
            if done.returncode == 0 and lines:
                line.update(json.loads(lines[-1]))
            else:
                line["error"] = (done.stderr.strip().splitlines() or ["failed"])[-1][:300]
        print(json.dumps(line), flush=True)
        results.append(line)
    print(json.dumps({"real_size": results}))
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
