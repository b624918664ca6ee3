#!/usr/bin/env python3
"""Run an ONNX model with onnxruntime on one input, for hearth-ml's tests/faces.rs to compare
tract's answers with: the model file as it is stored, so onnxruntime unpacks the block-quantized
weights itself (independently of hearth-ml's unpacking), on one thread. One change: the models
mark their per-tensor DequantizeLinear nodes with a block_size too, which onnxruntime refuses
("block_size must be 0 for per-tensor quantization"); there it is cleared, which changes nothing
(one scale for the whole tensor). And graph inputs that no node reads (SFace lists its weights as
inputs too) are dropped, or onnxruntime would wait for them to be fed.

    onnxruntime_reference.py MODEL INPUT_F32 N,C,H,W OUTPUT_JSON
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def without_per_tensor_block_sizes(path):
    model = onnx.load(path)
    scales = {t.name: list(t.dims) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and len(node.input) > 1 and scales.get(node.input[1], None) in ([], [1]):
            kept = [a for a in node.attribute if a.name != "block_size"]
            del node.attribute[:]
            node.attribute.extend(kept)
    read = {name for node in model.graph.node for name in node.input}
    kept = [i for i in model.graph.input if i.name in read]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    return model.SerializeToString()


def main(model, input_path, shape, out):
    dims = [int(d) for d in shape.split(",")]
    x = np.fromfile(input_path, dtype="<f4").reshape(dims)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(without_per_tensor_block_sizes(model), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    results = session.run(None, {name: x})
    answer = {o.name: {"shape": list(r.shape), "data": r.astype("float32").ravel().tolist()} for o, r in zip(session.get_outputs(), results)}
    with open(out, "w") as f:
        json.dump(answer, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
