//! A CLIP-shaped model small enough to build in code: pictures and the words "red", "green" and
//! "blue" in a three-dimensional colour space. It proves the plumbing (provided files, the
//! tokenizer, both halves on the backend, stored vectors, search) without a real model, which
//! Hearth does not ship. Its image half averages each normalised channel over the picture; its
//! text half averages the colour rows of its tokens (every other token's row is zero), so a red
//! photo lies nearest to "red".

use std::path::Path;

use prost::Message;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};
use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
    type_proto,
};

use super::ProvidedModel;
use crate::error::{MlError, Result};

/// The picture side its image half takes.
pub const IMAGE_SIDE: u32 = 32;
/// The token ids its text half takes.
pub const TEXT_TOKENS: usize = 16;

/// The merges that make the three words whole tokens, and each word's colour.
/// (Lower ranks merge first: "green" is whole before "r e" could split it.)
const MERGES: &str = "#version: 0.2\ng r\ngr e\ngre e\ngree n</w>\nr e\nre d</w>\nb l\nbl u\nblu e</w>\n";
/// (merge index making the word, its colour row).
const WORDS: [(usize, [f32; 3]); 3] = [(5, [1.0, 0.0, 0.0]), (3, [0.0, 1.0, 0.0]), (8, [0.0, 0.0, 1.0])];

/// Writes `image.onnx`, `text.onnx` and `merges.txt` into `dir`; returns them as a provided model.
pub fn write(dir: &Path) -> Result<ProvidedModel> {
    let files = ProvidedModel {
        image_model: dir.join("image.onnx"),
        text_model: dir.join("text.onnx"),
        merges: dir.join("merges.txt"),
        image_side: IMAGE_SIDE,
        text_tokens: TEXT_TOKENS,
    };
    let write = |path: &Path, bytes: &[u8]| std::fs::write(path, bytes).map_err(MlError::io(format!("writing {}", path.display())));
    write(&files.image_model, &image_model().encode_to_vec())?;
    write(&files.text_model, &text_model().encode_to_vec())?;
    write(&files.merges, MERGES.as_bytes())?;
    Ok(files)
}

fn image_model() -> ModelProto {
    let side = i64::from(IMAGE_SIDE);
    let node = NodeProto {
        op_type: "ReduceMean".into(),
        input: vec!["image".into()],
        output: vec!["vector".into()],
        attribute: vec![ints("axes", &[2, 3]), int("keepdims", 0)],
        ..Default::default()
    };
    model(GraphProto {
        name: "tiny-colour-image".into(),
        node: vec![node],
        input: vec![value("image", DataType::Float, &[1, 3, side, side])],
        output: vec![value("vector", DataType::Float, &[1, 3])],
        ..Default::default()
    })
}

fn text_model() -> ModelProto {
    // 512 byte tokens, one per merge, the start and the end.
    let merges = MERGES.lines().skip(1).count();
    let vocabulary = 512 + merges + 2;
    let mut rows = vec![0f32; vocabulary * 3];
    for (merge, colour) in WORDS {
        rows[(512 + merge) * 3..(512 + merge) * 3 + 3].copy_from_slice(&colour);
    }
    let table = TensorProto {
        name: "colours".into(),
        dims: vec![vocabulary as i64, 3],
        data_type: DataType::Float as i32,
        raw_data: rows.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    };
    let gather = NodeProto {
        op_type: "Gather".into(),
        input: vec!["colours".into(), "tokens".into()],
        output: vec!["rows".into()],
        attribute: vec![int("axis", 0)],
        ..Default::default()
    };
    let mean = NodeProto {
        op_type: "ReduceMean".into(),
        input: vec!["rows".into()],
        output: vec!["vector".into()],
        attribute: vec![ints("axes", &[1]), int("keepdims", 0)],
        ..Default::default()
    };
    model(GraphProto {
        name: "tiny-colour-text".into(),
        node: vec![gather, mean],
        initializer: vec![table],
        input: vec![value("tokens", DataType::Int64, &[1, TEXT_TOKENS as i64])],
        output: vec![value("vector", DataType::Float, &[1, 3])],
        ..Default::default()
    })
}

fn model(graph: GraphProto) -> ModelProto {
    ModelProto {
        ir_version: 8,
        producer_name: "hearth-ml tiny_model".into(),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..Default::default()
    }
}

fn value(name: &str, data_type: DataType, dims: &[i64]) -> ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { value: Some(dimension::Value::DimValue(d)), ..Default::default() }).collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: data_type as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), i, r#type: 2, ..Default::default() }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), ints: values.to_vec(), r#type: 7, ..Default::default() }
}
