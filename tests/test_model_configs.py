"""The real-size configurations in resources/model_configs (bench/real_size.py builds them) have the published
sizes: each model's parameter count, computed on torch's meta device (no memory), is within a few % of the
size its makers publish. resources/model_configs/README.md names the source of each number."""

import pytest

from bench import real_size

#: family -> component -> (published parameters, where it is published)
PUBLISHED = {
    "sd15": {"unet": (0.86e9, "SD 1.5 model card: 860M UNet"), "text_encoder": (123e6, "CLIP ViT-L/14 text: 123M")},
    "sdxl": {"unet": (2.6e9, "SDXL paper: 2.6B UNet"),
             "text_encoder+text_encoder_2": (817e6, "SDXL paper: 817M in CLIP ViT-L and OpenCLIP ViT-bigG")},
    "flux2-klein-4b": {"transformer": (4.0e9, "FLUX.2 [klein] 4B"), "text_encoder": (4.0e9, "Qwen3-4B card: 4.0B")},
    "flux1-kontext-dev": {"transformer": (12e9, "FLUX.1 Kontext [dev] card: 12 billion"),
                          "text_encoder_2": (4.76e9, "T5 v1.1 XXL encoder: 4.76B")},
    "qwen-image-edit": {"transformer": (20e9, "Qwen-Image report: 20B MMDiT"),
                        "text_encoder": (8.29e9, "Qwen2.5-VL-7B-Instruct on the Hub: 8.29B")},
}


@pytest.fixture(scope="module")
def counts():
    import torch

    out = {}
    for family in PUBLISHED:
        configs = real_size.load_configs(family, tiny=False)
        with torch.device("meta"):
            parts = real_size.build_components(configs, "meta", torch.float32, materialise=False)
        out[family] = {name: sum(p.numel() for p in module.parameters()) for name, module in parts.items()}
    return out


@pytest.mark.parametrize("family", sorted(PUBLISHED))
def test_each_model_has_its_published_size(counts, family):
    for names, (published, source) in PUBLISHED[family].items():
        count = sum(counts[family][name] for name in names.split("+"))
        assert abs(count / published - 1) < 0.04, f"{family} {names}: {count / 1e9:.3f}B, published {source}"


def test_tied_embeddings_are_counted_once(counts):
    # Qwen3-4B ties its head to its token embedding (151936 x 2560): counted twice it is 4.41B, not 4.02B
    assert abs(counts["flux2-klein-4b"]["text_encoder"] - 4.0225e9) < 1e6
    assert abs(counts["flux1-kontext-dev"]["text_encoder_2"] - 4.7623e9) < 1e6
