//! Surgery on an ONNX graph before a backend loads it. The face models ship with block-quantized
//! int8 weights (opset 21's `DequantizeLinear` with `block_size`), which tract does not accept;
//! the files stay as shipped (their checksums are the published ones) and the weights are unpacked
//! here, once, at load: every `DequantizeLinear` whose three inputs are constants becomes an f32
//! constant. Graph inputs that nothing reads (some exporters list weights as inputs too) are
//! dropped so the backend does not wait for them to be fed.
//!
//! For a board whose profile computes in int8 ([`int8_convolutions`]), each convolution with
//! constant weights then becomes ONNX's integer form, the way onnxruntime's dynamic quantization
//! writes it: its input quantized as it runs (`DynamicQuantizeLinear`, u8 with one scale and zero
//! point per tensor), `ConvInteger` with the weights as int8 per output channel, the i32 sums
//! scaled back to f32 and the bias added.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, tensor_proto::DataType};

/// Why the graph cannot be unpacked.
#[derive(Debug, PartialEq, Eq)]
pub struct GraphError(pub String);

/// What [`unpack_constant_weights`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Unpacked {
    /// `DequantizeLinear` nodes turned into constants.
    pub dequantized: usize,
    /// Graph inputs dropped because nothing read them or a constant provides them.
    pub dropped_inputs: usize,
}

/// Unpacks the constant quantized weights of `model` into f32 constants.
pub fn unpack_constant_weights(model: &mut ModelProto) -> Result<Unpacked, GraphError> {
    let graph = model.graph.as_mut().ok_or_else(|| GraphError("the model has no graph".into()))?;
    let mut done = Unpacked::default();
    let mut index: HashMap<String, usize> = graph.initializer.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    let mut kept = Vec::with_capacity(graph.node.len());
    let mut added = Vec::new();
    for node in std::mem::take(&mut graph.node) {
        let constant_inputs = node.input.iter().filter(|n| !n.is_empty()).all(|n| index.contains_key(n));
        if node.op_type == "DequantizeLinear" && node.domain.is_empty() && constant_inputs && node.output.len() == 1 {
            let tensor = dequantize(&graph.initializer, &index, &node)?;
            index.insert(tensor.name.clone(), graph.initializer.len() + added.len());
            added.push(tensor);
            done.dequantized += 1;
        } else {
            kept.push(node);
        }
    }
    graph.node = kept;
    graph.initializer.extend(added);
    drop_unread(graph);
    done.dropped_inputs = drop_dangling_inputs(graph);
    Ok(done)
}

/// Removes initializers nothing reads any more (the int8 originals), so they are not kept twice.
fn drop_unread(graph: &mut GraphProto) {
    let read: HashSet<&str> =
        graph.node.iter().flat_map(|n| n.input.iter().map(String::as_str)).chain(graph.output.iter().map(|o| o.name.as_str())).collect();
    let unread: Vec<usize> =
        graph.initializer.iter().enumerate().filter(|(_, t)| !read.contains(t.name.as_str())).map(|(i, _)| i).collect();
    for i in unread.into_iter().rev() {
        graph.initializer.swap_remove(i);
    }
}

fn drop_dangling_inputs(graph: &mut GraphProto) -> usize {
    let read: HashSet<String> =
        graph.node.iter().flat_map(|n| n.input.iter().cloned()).chain(graph.output.iter().map(|o| o.name.clone())).collect();
    let constant: HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let before = graph.input.len();
    graph.input.retain(|i| read.contains(&i.name) && !constant.contains(&i.name));
    before - graph.input.len()
}

fn dequantize(initializers: &[TensorProto], index: &HashMap<String, usize>, node: &NodeProto) -> Result<TensorProto, GraphError> {
    let get = |i: usize| -> Option<&TensorProto> {
        node.input.get(i).filter(|n| !n.is_empty()).and_then(|n| index.get(n)).map(|&k| &initializers[k])
    };
    let name = &node.output[0];
    let err = |what: &str| GraphError(format!("DequantizeLinear {name}: {what}"));
    let x = get(0).ok_or_else(|| err("no quantized input"))?;
    let scale = get(1).ok_or_else(|| err("no scale"))?;
    let zero = get(2);
    let values = integers(x).ok_or_else(|| err("the quantized weights are not 8-bit integers"))?;
    let scales = floats(scale).ok_or_else(|| err("the scales are not 32-bit floats"))?;
    let zeros = match zero {
        Some(z) => integers(z).ok_or_else(|| err("the zero points are not 8-bit integers"))?,
        None => vec![0; scales.len()],
    };
    if zeros.len() != scales.len() {
        return Err(err("scales and zero points differ in size"));
    }
    let dims = dims_of(x).ok_or_else(|| err("negative dimension"))?;
    if dims.iter().product::<usize>() != values.len() {
        return Err(err("the weights do not fill their shape"));
    }
    let rank = dims.len() as i64;
    let mut axis = attribute_int(node, "axis").unwrap_or(1);
    if axis < 0 {
        axis += rank;
    }
    let block = attribute_int(node, "block_size").unwrap_or(0);
    let mut out = Vec::with_capacity(values.len());
    if scales.len() == 1 {
        out.extend(values.iter().map(|&v| (v - zeros[0]) as f32 * scales[0]));
    } else {
        if !(0..rank).contains(&axis) {
            return Err(err("axis out of range"));
        }
        let axis = axis as usize;
        let inner: usize = dims[axis + 1..].iter().product();
        let along = dims[axis];
        let scale_dims = dims_of(scale).ok_or_else(|| err("negative dimension"))?;
        if block <= 0 {
            // One scale per index along the axis.
            if scales.len() != along {
                return Err(err("per-axis scales do not match the axis"));
            }
            for (i, &v) in values.iter().enumerate() {
                let k = (i / inner) % along;
                out.push((v - zeros[k]) as f32 * scales[k]);
            }
        } else {
            // Blocks of `block` along the axis; the scale tensor has the weights' rank with the
            // axis shortened to the block count.
            let block = block as usize;
            let blocks = along.div_ceil(block);
            let mut expected = dims.clone();
            expected[axis] = blocks;
            if scale_dims != expected {
                return Err(err(&format!("scales of shape {scale_dims:?} do not match blocks of {block} along axis {axis} of {dims:?}")));
            }
            for (i, &v) in values.iter().enumerate() {
                let outer = i / (inner * along);
                let a = (i / inner) % along;
                let rest = i % inner;
                let k = (outer * blocks + a / block) * inner + rest;
                out.push((v - zeros[k]) as f32 * scales[k]);
            }
        }
    }
    if out.iter().any(|v| !v.is_finite()) {
        return Err(err("unpacking gave non-finite weights"));
    }
    Ok(TensorProto {
        dims: x.dims.clone(),
        data_type: DataType::Float as i32,
        name: name.clone(),
        raw_data: out.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    })
}

/// What [`int8_convolutions`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Int8Convolutions {
    /// Convolutions now computed in integers.
    pub converted: usize,
    /// Convolutions left in f32 (weights not constant, or not f32).
    pub left: usize,
}

/// Rewrites every convolution of `model` whose weights (and bias) are f32 constants into
/// integer arithmetic (see the module's comment). Run after [`unpack_constant_weights`]: weights
/// that shipped as int8 are requantized per output channel from their unpacked values, which gives
/// back the same integers for weights quantized per output channel (`int8_weights.py`) and
/// rounds block-quantized ones once more. Reshapes of constants (YuNet reshapes its weights) are
/// folded first so their convolutions see constant weights.
pub fn int8_convolutions(model: &mut ModelProto) -> Result<Int8Convolutions, GraphError> {
    let graph = model.graph.as_mut().ok_or_else(|| GraphError("the model has no graph".into()))?;
    fold_constant_reshapes(graph)?;
    let index: HashMap<String, usize> = graph.initializer.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    let mut done = Int8Convolutions::default();
    let mut added: Vec<TensorProto> = Vec::new();
    // One quantization per tensor, however many convolutions read it.
    let mut quantized: HashSet<String> = HashSet::new();
    let mut nodes = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        let weights = node.input.get(1).and_then(|w| index.get(w)).map(|&i| &graph.initializer[i]);
        let bias = match node.input.get(2).filter(|b| !b.is_empty()) {
            None => Some(None),
            Some(b) => index.get(b).map(|&i| Some(&graph.initializer[i])),
        };
        let input = node.input.first().filter(|x| !x.is_empty() && !index.contains_key(*x));
        // Grouped (depthwise) convolutions stay f32: tract has a direct kernel for them in f32
        // only, and in integers they become one small matrix product per group.
        let plain = node.op_type == "Conv" && node.domain.is_empty() && attribute_int(&node, "group").unwrap_or(1) == 1;
        let (Some(weights), Some(bias), Some(input), true, true) = (weights, bias, input, plain, node.output.len() == 1) else {
            done.left += usize::from(node.op_type == "Conv");
            nodes.push(node);
            continue;
        };
        let Some(conv) = integer_weights(weights, bias, &node.output[0])? else {
            done.left += 1;
            nodes.push(node);
            continue;
        };
        let input = input.clone();
        let out = node.output[0].clone();
        let (q, scale, zero) = (format!("{input}/u8"), format!("{input}/scale"), format!("{input}/zero"));
        if quantized.insert(input.clone()) {
            nodes.push(op("DynamicQuantizeLinear", &[&input], &[&q, &scale, &zero], vec![]));
        }
        let sums = format!("{out}/i32");
        nodes.push(op("ConvInteger", &[&q, &conv.weights.name, &zero], &[&sums], node.attribute.clone()));
        let (floated, both, scaled) = (format!("{out}/f32"), format!("{out}/scales"), format!("{out}/scaled"));
        let to_float = AttributeProto { name: "to".into(), i: DataType::Float as i64, r#type: 2, ..Default::default() };
        nodes.push(op("Cast", &[&sums], &[&floated], vec![to_float]));
        nodes.push(op("Mul", &[&scale, &conv.scales.name], &[&both], vec![]));
        match &conv.bias {
            Some(bias) => {
                nodes.push(op("Mul", &[&floated, &both], &[&scaled], vec![]));
                nodes.push(op("Add", &[&scaled, &bias.name], &[&out], vec![]));
            }
            None => nodes.push(op("Mul", &[&floated, &both], &[&out], vec![])),
        }
        added.push(conv.weights);
        added.push(conv.scales);
        added.extend(conv.bias);
        done.converted += 1;
    }
    graph.node = nodes;
    graph.initializer.extend(added);
    drop_unread(graph);
    Ok(done)
}

/// A convolution's weights as integers: int8 per output channel, the scales and the bias shaped
/// `[1, M, 1, …]` to scale and shift its output.
struct IntegerWeights {
    weights: TensorProto,
    scales: TensorProto,
    bias: Option<TensorProto>,
}

/// `None` when the weights are not f32 of rank 3 or more (the convolution stays f32).
fn integer_weights(weights: &TensorProto, bias: Option<&TensorProto>, out: &str) -> Result<Option<IntegerWeights>, GraphError> {
    let err = |what: &str| GraphError(format!("Conv {out}: {what}"));
    let (Some(values), Some(dims)) = (floats(weights), dims_of(weights)) else { return Ok(None) };
    if dims.len() < 3 || dims[0] == 0 || dims.iter().product::<usize>() != values.len() {
        return Ok(None);
    }
    let channels = dims[0];
    let per_channel = values.len() / channels;
    let mut integers = Vec::with_capacity(values.len());
    let mut scales = Vec::with_capacity(channels);
    for channel in values.chunks_exact(per_channel) {
        let largest = channel.iter().fold(0f32, |m, v| m.max(v.abs()));
        if !largest.is_finite() {
            return Err(err("non-finite weights"));
        }
        let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
        integers.extend(channel.iter().map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8 as u8));
        scales.push(scale);
    }
    let mut shape = vec![1i64; dims.len()];
    shape[1] = channels as i64;
    let bias = match bias {
        None => None,
        Some(b) => {
            let values = floats(b).ok_or_else(|| err("the bias is not f32"))?;
            if values.len() != channels {
                return Err(err("the bias does not have one value per output channel"));
            }
            Some(TensorProto {
                name: format!("{out}/bias"),
                dims: shape.clone(),
                data_type: DataType::Float as i32,
                raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                ..Default::default()
            })
        }
    };
    Ok(Some(IntegerWeights {
        weights: TensorProto {
            name: format!("{out}/weights"),
            dims: weights.dims.clone(),
            data_type: DataType::Int8 as i32,
            raw_data: integers,
            ..Default::default()
        },
        scales: TensorProto {
            name: format!("{out}/weight_scales"),
            dims: shape,
            data_type: DataType::Float as i32,
            raw_data: scales.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        },
        bias,
    }))
}

fn op(op_type: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op_type.into(),
        name: format!("{}/{op_type}", outputs[0]),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..Default::default()
    }
}

/// Replaces each `Reshape` of a constant by a constant shape with the reshaped constant.
fn fold_constant_reshapes(graph: &mut GraphProto) -> Result<(), GraphError> {
    let mut index: HashMap<String, usize> = graph.initializer.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    let mut kept = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        let constant = |i: usize| node.input.get(i).and_then(|n| index.get(n)).map(|&k| &graph.initializer[k]);
        let (Some(data), Some(shape), true) = (constant(0), constant(1), node.op_type == "Reshape" && node.output.len() == 1) else {
            kept.push(node);
            continue;
        };
        let Some(target) = shape_values(shape) else {
            kept.push(node);
            continue;
        };
        let dims = dims_of(data).ok_or_else(|| GraphError(format!("Reshape {}: negative dimension", node.output[0])))?;
        let count: usize = dims.iter().product();
        let Some(new_dims) = reshaped(&dims, &target, count) else {
            return Err(GraphError(format!("Reshape {}: {dims:?} cannot become {target:?}", node.output[0])));
        };
        let mut folded = data.clone();
        folded.name = node.output[0].clone();
        folded.dims = new_dims.iter().map(|&d| d as i64).collect();
        index.insert(folded.name.clone(), graph.initializer.len());
        graph.initializer.push(folded);
    }
    graph.node = kept;
    drop_unread(graph);
    Ok(())
}

/// An int64 shape tensor's values.
fn shape_values(t: &TensorProto) -> Option<Vec<i64>> {
    if t.data_type != DataType::Int64 as i32 {
        return None;
    }
    if !t.raw_data.is_empty() {
        if !t.raw_data.len().is_multiple_of(8) {
            return None;
        }
        Some(t.raw_data.chunks_exact(8).map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect())
    } else {
        Some(t.int64_data.clone())
    }
}

/// ONNX's `Reshape` rule (allowzero unset): 0 copies the input's dimension, one -1 takes the rest.
fn reshaped(dims: &[usize], target: &[i64], count: usize) -> Option<Vec<usize>> {
    let mut out = Vec::with_capacity(target.len());
    let mut unknown = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            0 => out.push(*dims.get(i)?),
            -1 if unknown.is_none() => {
                unknown = Some(i);
                out.push(1);
            }
            t if t > 0 => out.push(usize::try_from(t).ok()?),
            _ => return None,
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = unknown {
        if known == 0 || !count.is_multiple_of(known) {
            return None;
        }
        out[i] = count / known;
    }
    (out.iter().product::<usize>() == count).then_some(out)
}

fn dims_of(t: &TensorProto) -> Option<Vec<usize>> {
    t.dims.iter().map(|&d| usize::try_from(d).ok()).collect()
}

fn attribute_int(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

/// Values of an int8 or uint8 tensor, as stored (raw bytes or widened into `int32_data`).
fn integers(t: &TensorProto) -> Option<Vec<i32>> {
    let signed = match t.data_type {
        x if x == DataType::Int8 as i32 => true,
        x if x == DataType::Uint8 as i32 => false,
        _ => return None,
    };
    if !t.raw_data.is_empty() {
        Some(t.raw_data.iter().map(|&b| if signed { b as i8 as i32 } else { b as i32 }).collect())
    } else {
        Some(t.int32_data.clone())
    }
}

fn floats(t: &TensorProto) -> Option<Vec<f32>> {
    if t.data_type != DataType::Float as i32 {
        return None;
    }
    if !t.raw_data.is_empty() {
        if !t.raw_data.len().is_multiple_of(4) {
            return None;
        }
        Some(t.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    } else {
        Some(t.float_data.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::ValueInfoProto;

    fn tensor(name: &str, dims: &[i64], data_type: DataType, raw: Vec<u8>) -> TensorProto {
        TensorProto { name: name.into(), dims: dims.to_vec(), data_type: data_type as i32, raw_data: raw, ..Default::default() }
    }

    fn int_attr(name: &str, i: i64) -> AttributeProto {
        AttributeProto { name: name.into(), i, r#type: 2, ..Default::default() }
    }

    fn graph_with(node: NodeProto, initializers: Vec<TensorProto>) -> ModelProto {
        ModelProto {
            graph: Some(GraphProto {
                node: vec![node],
                initializer: initializers,
                input: vec![ValueInfoProto { name: "unused_weight".into(), ..Default::default() }],
                output: vec![ValueInfoProto { name: "w".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn float_values(t: &TensorProto) -> Vec<f32> {
        floats(t).expect("floats")
    }

    #[test]
    fn blocks_along_an_axis_are_unpacked_with_their_own_scale_and_zero_point() {
        // 2×4 weights, blocks of 2 along axis 1: four blocks.
        let x = tensor("q", &[2, 4], DataType::Int8, [1i8, 2, 3, 4, -1, -2, -3, -128].iter().map(|&v| v as u8).collect());
        let scales = tensor("s", &[2, 2], DataType::Float, [0.5f32, 2.0, 1.0, 0.25].iter().flat_map(|v| v.to_le_bytes()).collect());
        let zeros = tensor("z", &[2, 2], DataType::Int8, [1i8, 0, 0, -128].iter().map(|&v| v as u8).collect());
        let node = NodeProto {
            op_type: "DequantizeLinear".into(),
            input: vec!["q".into(), "s".into(), "z".into()],
            output: vec!["w".into()],
            attribute: vec![int_attr("axis", 1), int_attr("block_size", 2)],
            ..Default::default()
        };
        let mut model = graph_with(node, vec![x, scales, zeros]);
        let done = unpack_constant_weights(&mut model).expect("unpack");
        assert_eq!(done, Unpacked { dequantized: 1, dropped_inputs: 1 });
        let graph = model.graph.expect("graph");
        assert!(graph.node.is_empty());
        assert_eq!(graph.initializer.len(), 1, "the int8 originals are not kept");
        let w = &graph.initializer[0];
        assert_eq!(w.name, "w");
        assert_eq!(float_values(w), vec![0.0, 0.5, 6.0, 8.0, -1.0, -2.0, 31.25, 0.0]);
    }

    #[test]
    fn per_tensor_and_per_axis_scales_are_unpacked() {
        let x = tensor("q", &[2, 2], DataType::Uint8, vec![10, 20, 30, 40]);
        let scale = tensor("s", &[], DataType::Float, 0.5f32.to_le_bytes().to_vec());
        let zero = tensor("z", &[], DataType::Uint8, vec![10]);
        let node = NodeProto {
            op_type: "DequantizeLinear".into(),
            input: vec!["q".into(), "s".into(), "z".into()],
            output: vec!["w".into()],
            ..Default::default()
        };
        let mut model = graph_with(node.clone(), vec![x.clone(), scale, zero]);
        unpack_constant_weights(&mut model).expect("unpack");
        assert_eq!(float_values(&model.graph.expect("g").initializer[0]), vec![0.0, 5.0, 10.0, 15.0]);

        let scales = tensor("s", &[2], DataType::Float, [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect());
        let node = NodeProto { input: vec!["q".into(), "s".into()], attribute: vec![int_attr("axis", 0)], ..node };
        let mut model = graph_with(node, vec![x, scales]);
        unpack_constant_weights(&mut model).expect("unpack");
        assert_eq!(float_values(&model.graph.expect("g").initializer[0]), vec![10.0, 20.0, 60.0, 80.0]);
    }

    #[test]
    fn mismatched_shapes_are_refused_not_guessed() {
        let x = tensor("q", &[2, 4], DataType::Int8, vec![0; 8]);
        let scales = tensor("s", &[2, 3], DataType::Float, vec![0; 24]);
        let node = NodeProto {
            op_type: "DequantizeLinear".into(),
            input: vec!["q".into(), "s".into()],
            output: vec!["w".into()],
            attribute: vec![int_attr("axis", 1), int_attr("block_size", 2)],
            ..Default::default()
        };
        let mut model = graph_with(node.clone(), vec![x, scales]);
        assert!(unpack_constant_weights(&mut model).is_err());
        let short = tensor("q", &[2, 4], DataType::Int8, vec![0; 7]);
        let scales = tensor("s", &[2, 2], DataType::Float, vec![0; 16]);
        let mut model = graph_with(node, vec![short, scales]);
        assert!(unpack_constant_weights(&mut model).is_err());
    }

    fn floats_tensor(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
        tensor(name, dims, DataType::Float, values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    /// A 3×3 convolution of a 2-channel input into 3 channels, with a bias, optionally reading
    /// its weights through a `Reshape` of a constant (as YuNet does).
    fn convolution(reshaped_weights: bool) -> ModelProto {
        let weights: Vec<f32> = (0..3 * 2 * 9).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
        let mut initializer = vec![floats_tensor("b", &[3], &[0.5, -1.0, 2.0])];
        let mut node = vec![];
        if reshaped_weights {
            initializer.push(floats_tensor("flat", &[3, 2, 9], &weights));
            initializer.push(tensor("shape", &[4], DataType::Int64, [3i64, 0, -1, 3].iter().flat_map(|v| v.to_le_bytes()).collect()));
            node.push(NodeProto {
                op_type: "Reshape".into(),
                input: vec!["flat".into(), "shape".into()],
                output: vec!["w".into()],
                ..Default::default()
            });
        } else {
            initializer.push(floats_tensor("w", &[3, 2, 3, 3], &weights));
        }
        let pads = AttributeProto { name: "pads".into(), ints: vec![1, 1, 1, 1], r#type: 7, ..Default::default() };
        node.push(NodeProto {
            op_type: "Conv".into(),
            input: vec!["x".into(), "w".into(), "b".into()],
            output: vec!["y".into()],
            attribute: vec![pads],
            ..Default::default()
        });
        ModelProto {
            graph: Some(GraphProto {
                node,
                initializer,
                input: vec![ValueInfoProto { name: "x".into(), r#type: Some(f32_type()), ..Default::default() }],
                output: vec![ValueInfoProto { name: "y".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn f32_type() -> tract_onnx::pb::TypeProto {
        use tract_onnx::pb::type_proto;
        tract_onnx::pb::TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type: DataType::Float as i32, shape: None })),
            ..Default::default()
        }
    }

    fn run(model: &ModelProto, input: &[f32]) -> Vec<f32> {
        use tract_onnx::prelude::*;
        let plan = tract_onnx::onnx()
            .model_for_proto_model(model)
            .and_then(|m| m.with_input_fact(0, f32::fact([1, 2, 4, 5]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .expect("plan");
        let x = tract_ndarray::Array4::from_shape_vec([1, 2, 4, 5], input.to_vec()).expect("shape");
        let out = plan.run(tvec!(Tensor::from(x).into())).expect("run");
        out[0].to_plain_array_view::<f32>().expect("f32").iter().copied().collect()
    }

    #[test]
    fn an_int8_convolution_answers_as_the_f32_one_within_its_rounding() {
        let input: Vec<f32> = (0..40).map(|i| ((i * 13 % 17) as f32 - 6.0) * 0.3).collect();
        let want = run(&convolution(false), &input);
        for reshaped_weights in [false, true] {
            let mut model = convolution(reshaped_weights);
            let done = int8_convolutions(&mut model).expect("int8");
            assert_eq!(done, Int8Convolutions { converted: 1, left: 0 });
            let graph = model.graph.as_ref().expect("graph");
            let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
            assert_eq!(ops, ["DynamicQuantizeLinear", "ConvInteger", "Cast", "Mul", "Mul", "Add"]);
            assert!(graph.initializer.iter().all(|t| t.name != "flat" && t.name != "w"), "the f32 weights are not kept");
            let got = run(&model, &input);
            let range = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(worst < range * 0.02, "int8 differs by {worst} of {range}");
        }
    }

    #[test]
    fn grouped_and_non_constant_convolutions_stay_f32() {
        let mut model = convolution(false);
        let graph = model.graph.as_mut().expect("graph");
        graph.node[0].attribute.push(int_attr("group", 2));
        assert_eq!(int8_convolutions(&mut model).expect("int8"), Int8Convolutions { converted: 0, left: 1 });
        let mut model = convolution(false);
        let graph = model.graph.as_mut().expect("graph");
        graph.initializer.retain(|t| t.name != "w");
        graph.input.push(ValueInfoProto { name: "w".into(), ..Default::default() });
        assert_eq!(int8_convolutions(&mut model).expect("int8"), Int8Convolutions { converted: 0, left: 1 });
    }

    #[test]
    fn reshapes_follow_onnx_rules() {
        assert_eq!(reshaped(&[3, 2, 9], &[3, 0, -1, 3], 54), Some(vec![3, 2, 3, 3]));
        assert_eq!(reshaped(&[54], &[-1], 54), Some(vec![54]));
        assert_eq!(reshaped(&[54], &[-1, -1], 54), None);
        assert_eq!(reshaped(&[54], &[5, -1], 54), None);
        assert_eq!(reshaped(&[54], &[6, 9], 54), Some(vec![6, 9]));
        assert_eq!(reshaped(&[54], &[6, 8], 54), None);
        assert_eq!(reshaped(&[54], &[0, 0], 54), None);
        assert_eq!(reshaped(&[54], &[-2], 54), None);
    }
}
