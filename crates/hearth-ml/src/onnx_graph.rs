//! Surgery on an ONNX graph before a backend loads it. The face models ship with block-quantized
//! int8 weights (opset 21's `DequantizeLinear` with `block_size`), which tract does not accept;
//! the files stay as shipped (their checksums are the published ones) and the weights are unpacked
//! here, once, at load: every `DequantizeLinear` whose three inputs are constants becomes an f32
//! constant. Graph inputs that nothing reads (some exporters list weights as inputs too) are
//! dropped so the backend does not wait for them to be fed.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, TensorProto, tensor_proto::DataType};

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
    use tract_onnx::pb::{AttributeProto, ValueInfoProto};

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
}
