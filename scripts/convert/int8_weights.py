"""Convolution and linear weights of an ONNX model stored as int8, one scale per output channel.

Each float32 weight of a Conv or Gemm (the second input, a constant of at least 1,024 values)
becomes an int8 tensor and a float32 scale per output channel (symmetric: zero point 0, values
in -127..127, scale = the channel's largest magnitude / 127), read back by a DequantizeLinear
node (opset 13, `axis` 0) under the weight's old name. The file is about a quarter of the size;
hearth-ml unpacks such constants to float32 at load (crates/hearth-ml/src/onnx_graph.rs), so
inference is float32 either way and the only difference is the rounding of the weights, which
docs/ml.md measures. Biases, activations and everything else stay as they are.
"""
import numpy as np
import onnx
from onnx import helper, numpy_helper

MIN_VALUES = 1024


def quantize(model_bytes):
    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    targets = []
    for node in graph.node:
        if node.op_type in ("Conv", "Gemm") and len(node.input) > 1 and node.input[1] in weights:
            if node.op_type == "Gemm" and not any(a.name == "transB" and a.i == 1 for a in node.attribute):
                continue  # axis 0 is then the input, not the output
            targets.append(node.input[1])
    readers = {}
    for node in graph.node:
        for i in node.input:
            readers[i] = readers.get(i, 0) + 1
    dequantize = []
    for name in dict.fromkeys(targets):
        t = weights[name]
        w = numpy_helper.to_array(t)
        if w.dtype != np.float32 or w.size < MIN_VALUES or w.ndim < 2:
            continue
        flat = w.reshape(w.shape[0], -1).astype(np.float64)
        peak = np.abs(flat).max(axis=1)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.rint(flat / scale[:, None].astype(np.float64)), -127, 127).astype(np.int8).reshape(w.shape)
        graph.initializer.remove(t)
        graph.initializer.extend([
            numpy_helper.from_array(q, name + "/int8"),
            numpy_helper.from_array(scale, name + "/scale"),
            numpy_helper.from_array(np.zeros(w.shape[0], np.int8), name + "/zero"),
        ])
        dequantize.append(helper.make_node("DequantizeLinear", [name + "/int8", name + "/scale", name + "/zero"], [name], axis=0))
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(dequantize + nodes)
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)
