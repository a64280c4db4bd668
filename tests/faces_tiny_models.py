"""Tiny ONNX models with the real insightface interfaces, written with onnx.helper.

- SCRFD-like detector: input 1x3xHxW, 9 outputs (scores, boxes, keypoints at
  strides 8/16/32, each (N, 1|4|10) with N = H/s * W/s * 2 anchors).  It fires
  on bright 32x32 cells aligned to the stride-32 grid: one "face" per white
  square, box 64x64 around the cell centre, fixed 5-point layout.
- ArcFace-like recognizer: 1x3x112x112 -> 1x512 (pooled pixels times a fixed matrix).
- inswapper-like: inputs target 1x3x128x128 and source 1x512, output 1x3x128x128,
  with the 512x512 ``emap`` as the last initializer.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 13)]
STRIDES = (8, 16, 32)
# keypoints relative to the anchor (cell top-left), in pixels at stride 32
KPS_OFFSETS = np.array([[10, 12], [22, 12], [16, 18], [11, 24], [21, 24]], dtype=np.float32)


def _save(graph, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET)
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_scrfd(path: Path) -> Path:
    nodes, inits, outs = [], [], {}
    for s in STRIDES:
        nodes.append(helper.make_node("AveragePool", ["input.1"], [f"pool{s}"], kernel_shape=[s, s], strides=[s, s]))
        for kind, width in (("score", 1), ("bbox", 4), ("kps", 10)):
            w = np.zeros((2 * width, 3, 1, 1), np.float32)
            b = np.zeros((2 * width,), np.float32)
            if kind == "score":
                if s == 32:
                    w[:] = 10.0 / 3.0
                    b[:] = -5.0
                else:
                    b[:] = -10.0
            elif kind == "bbox":
                b[:] = np.tile([0.5, 0.5, 1.5, 1.5], 2)  # distances in strides: box centred on the cell
            else:
                b[:] = np.tile((KPS_OFFSETS / 32.0).ravel(), 2)
            inits += [numpy_helper.from_array(w, f"{kind}{s}_w"), numpy_helper.from_array(b, f"{kind}{s}_b")]
            conv = [f"{kind}{s}_conv"]
            nodes.append(helper.make_node("Conv", [f"pool{s}", f"{kind}{s}_w", f"{kind}{s}_b"], conv))
            if kind == "score":
                nodes.append(helper.make_node("Sigmoid", conv, [f"{kind}{s}_sig"]))
                conv = [f"{kind}{s}_sig"]
            nodes.append(helper.make_node("Transpose", conv, [f"{kind}{s}_t"], perm=[0, 2, 3, 1]))
            inits.append(numpy_helper.from_array(np.array([-1, width], np.int64), f"{kind}{s}_shape"))
            name = f"{kind}_{s}"
            nodes.append(helper.make_node("Reshape", [f"{kind}{s}_t", f"{kind}{s}_shape"], [name]))
            outs[name] = helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"n{s}", width])
    order = [f"{k}_{s}" for k in ("score", "bbox", "kps") for s in STRIDES]
    graph = helper.make_graph(nodes, "tiny_scrfd",
                              [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "height", "width"])],
                              [outs[n] for n in order], inits)
    return _save(graph, path)


def write_arcface(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((147, 512)).astype(np.float32)
    nodes = [helper.make_node("AveragePool", ["data"], ["pooled"], kernel_shape=[16, 16], strides=[16, 16], name="pool"),
             helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
             helper.make_node("MatMul", ["flat", "fc_w"], ["fc1"], name="fc")]
    graph = helper.make_graph(nodes, "tiny_arcface",
                              [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 112, 112])],
                              [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["N", 512])],
                              [numpy_helper.from_array(w, "fc_w")])
    return _save(graph, path)


def write_inswapper(path: Path, seed: int = 1) -> Path:
    """Output = 0.5 * target + 0.5 * sigmoid(source @ W) as a flat colour."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((512, 3)) * 3).astype(np.float32)
    emap = np.linalg.qr(rng.standard_normal((512, 512)))[0].astype(np.float32)
    nodes = [helper.make_node("MatMul", ["source", "w"], ["col"]),
             helper.make_node("Sigmoid", ["col"], ["col_s"]),
             helper.make_node("Reshape", ["col_s", "shape4"], ["col4"]),
             helper.make_node("Mul", ["target", "half"], ["t_half"]),
             helper.make_node("Mul", ["col4", "half"], ["c_half"]),
             helper.make_node("Add", ["t_half", "c_half"], ["output"])]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([1, 3, 1, 1], np.int64), "shape4"),
             numpy_helper.from_array(np.array(0.5, np.float32), "half"),
             numpy_helper.from_array(emap, "emap")]  # last initializer, as in the real model
    graph = helper.make_graph(nodes, "tiny_inswapper",
                              [helper.make_tensor_value_info("target", TensorProto.FLOAT, [1, 3, 128, 128]),
                               helper.make_tensor_value_info("source", TensorProto.FLOAT, [1, 512])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 128, 128])], inits)
    return _save(graph, path)


def write_pack(folder: Path, name: str = "buffalo_l") -> Path:
    """A user's pack folder with buffalo_l's file names (tiny models)."""
    pack = folder / name
    pack.mkdir(parents=True, exist_ok=True)
    write_scrfd(pack / "det_10g.onnx")
    write_arcface(pack / "w600k_r50.onnx")
    return pack


def squares_image(cells: list[tuple[int, int]], size: int = 640, pattern_seed: int | None = None) -> np.ndarray:
    """Black RGB image with a bright 32x32 square at each (col, row) cell of the 32-px grid."""
    img = np.zeros((size, size, 3), np.uint8)
    rng = np.random.default_rng(pattern_seed)
    for cx, cy in cells:
        patch = np.full((32, 32, 3), 255, np.uint8)
        if pattern_seed is not None:  # textured but still bright: a different "identity"
            patch = rng.integers(190, 256, (32, 32, 3), dtype=np.uint8)
        img[cy * 32:(cy + 1) * 32, cx * 32:(cx + 1) * 32] = patch
    return img
