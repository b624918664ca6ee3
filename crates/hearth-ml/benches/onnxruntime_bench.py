#!/usr/bin/env python3
"""onnxruntime's time for one model on one input, for crates/hearth-ml/benches/models.rs: the
model prepared as tests/onnxruntime_reference.py prepares it, `threads` intra-op threads,
`warmup` runs, then the median of `runs` in milliseconds on stdout.

    onnxruntime_bench.py MODEL INPUT_F32 N,C,H,W THREADS WARMUP RUNS
"""
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from onnxruntime_reference import without_per_tensor_block_sizes  # noqa: E402


def main(model, input_path, shape, threads, warmup, runs):
    x = np.fromfile(input_path, dtype="<f4").reshape([int(d) for d in shape.split(",")])
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(without_per_tensor_block_sizes(model), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    for _ in range(int(warmup)):
        session.run(None, feed)
    times = []
    for _ in range(int(runs)):
        t = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - t) * 1000)
    print(f"{statistics.median(times):.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
