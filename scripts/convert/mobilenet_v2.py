"""torchvision's MobileNetV2 (its ImageNet state dict) as an ONNX graph, with numpy and onnx only.

The architecture is small and fixed (Sandler et al. 2018; torchvision.models.mobilenet_v2): a 3×3
stem, seventeen inverted-residual blocks, a 1×1 head, global average pooling and one linear layer.
Batch normalisation is folded into each convolution (in float64, then stored as float32), ReLU6 is
Clip(0, 6). Input `input`: 1×3×224×224 RGB scaled to 0–1 and normalised by ImageNet's mean and
standard deviation; output `logits`: 1×1000 in ImageNet's class order.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
EPSILON = 1e-5
# (expansion, channels, repeats, first stride) per stage, as the paper and torchvision have it.
STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class ConvertError(Exception):
    pass


class _Builder:
    def __init__(self, state):
        self.state = state
        self.used = set()
        self.nodes = []
        self.initializers = []
        self.count = 0

    def take(self, name):
        if name not in self.state:
            raise ConvertError(f"the state dict has no {name}")
        self.used.add(name)
        return self.state[name].astype(np.float64)

    def const(self, value, name):
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def conv_bn(self, x, conv, bn, stride, groups, relu6):
        """Conv(weights of `conv`) with the batch norm `bn` folded in, then ReLU6 if asked."""
        w = self.take(f"{conv}.weight")
        gamma, beta = self.take(f"{bn}.weight"), self.take(f"{bn}.bias")
        mean, var = self.take(f"{bn}.running_mean"), self.take(f"{bn}.running_var")
        self.used.add(f"{bn}.num_batches_tracked")
        scale = gamma / np.sqrt(var + EPSILON)
        wf = (w * scale[:, None, None, None]).astype(np.float32)
        bf = (beta - mean * scale).astype(np.float32)
        k = w.shape[2]
        if w.shape[0] % groups:
            raise ConvertError(f"{conv}: weights {w.shape} do not fit {groups} groups")
        y = f"{conv}.out"
        self.nodes.append(helper.make_node(
            "Conv", [x, self.const(wf, f"{conv}.w"), self.const(bf, f"{conv}.b")], [y],
            kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4, group=groups))
        if not relu6:
            return y
        out = f"{conv}.relu6"
        self.nodes.append(helper.make_node("Clip", [y, "zero", "six"], [out]))
        return out


def convert(state):
    """ONNX model bytes from MobileNetV2's state dict ({name: numpy array})."""
    b = _Builder(state)
    b.const(np.asarray(0.0, np.float32), "zero")
    b.const(np.asarray(6.0, np.float32), "six")
    x = b.conv_bn("input", "features.0.0", "features.0.1", 2, 1, True)
    channels = 32
    index = 1
    for expansion, out_channels, repeats, first_stride in STAGES:
        for r in range(repeats):
            stride = first_stride if r == 0 else 1
            hidden = channels * expansion
            p = f"features.{index}.conv"
            y = x
            layer = 0
            if expansion != 1:
                y = b.conv_bn(y, f"{p}.0.0", f"{p}.0.1", 1, 1, True)
                layer = 1
            y = b.conv_bn(y, f"{p}.{layer}.0", f"{p}.{layer}.1", stride, hidden, True)
            y = b.conv_bn(y, f"{p}.{layer + 1}", f"{p}.{layer + 2}", 1, 1, False)
            if stride == 1 and channels == out_channels:
                out = f"features.{index}.sum"
                b.nodes.append(helper.make_node("Add", [x, y], [out]))
                y = out
            x = y
            channels = out_channels
            index += 1
    x = b.conv_bn(x, f"features.{index}.0", f"features.{index}.1", 1, 1, True)
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    b.nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], axis=1))
    w = b.take("classifier.1.weight").astype(np.float32)
    bias = b.take("classifier.1.bias").astype(np.float32)
    b.nodes.append(helper.make_node(
        "Gemm", ["flat", b.const(w, "classifier.w"), b.const(bias, "classifier.b")], ["logits"], transB=1))
    left = sorted(set(state) - b.used)
    if left:
        raise ConvertError(f"the state dict has weights this architecture does not use: {left[:5]}")
    graph = helper.make_graph(
        b.nodes, "mobilenet_v2",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, w.shape[0]])],
        b.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="hearth scripts/models")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)
