//! A 2×2, stride-2 max pool for tract's CPU plan, put in place of tract's own after optimisation.
//!
//! YuNet halves its activations four times this way, the first at 320×320 with 16 channels.
//! tract 0.23 has a fast path only for stride 1; at stride 2 it walks each output value with
//! bounds checks and branches, 8 of YuNet's 38 ms on one thread here (docs/ml.md, "Benchmark").
//! This op reads two input rows and writes one output row at a time, which the compiler turns into
//! vector code. It takes only the pools it can answer exactly as tract would (f32, NCHW, no
//! padding, even height and width, no index output), and picks the same value tract does: the
//! largest tap by `f32::max` from `f32::MIN` (so NaN taps are passed over, and a window of only
//! NaN or -∞ gives `f32::MIN`, as in tract), planes shared among the plan's threads.
//!
//! YuNet puts a ReLU before each of those pools; the op takes that in too (max(0, taps) is the
//! pool of the ReLU's outputs), saving a pass over the largest activations. That answers as tract
//! does except in a window of four NaN, which gives 0 where tract's ReLU and pool may not.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::OptBinByScalar;
use tract_onnx::tract_core::ops::cnn::{OptMaxPool, PaddingSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// The op: `[N, C, H, W]` f32 in, `[N, C, H/2, W/2]` out.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct MaxPool2x2Stride2 {
    /// Whether the ReLU before the pool is folded in (the pool then starts from 0 instead of
    /// `f32::MIN`): one pass over the full-size activation fewer.
    pub after_relu: bool,
}

impl Op for MaxPool2x2Stride2 {
    fn name(&self) -> StaticName {
        if self.after_relu { "HearthReluMaxPool2x2Stride2".into() } else { "HearthMaxPool2x2Stride2".into() }
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool2x2Stride2 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let view = input.to_plain_array_view::<f32>()?;
        let &[n, c, h, w] = view.shape() else { bail!("a 2×2 max pool takes NCHW, not {:?}", view.shape()) };
        if h < 2 || w < 2 || h % 2 != 0 || w % 2 != 0 {
            bail!("a 2×2 stride-2 max pool of {h}×{w}: height and width must be even");
        }
        let values = view.as_slice().context("the pool's input is not contiguous")?;
        let (oh, ow) = (h / 2, w / 2);
        let floor = if self.after_relu { 0.0 } else { f32::MIN };
        let mut out = vec![0f32; n * c * oh * ow];
        // Planes side by side on the plan's threads, as tract's own pools run.
        tract_linalg::multithread::par_chunks_mut(&mut out, oh * ow, values.len(), |first, planes_out| {
            let planes_in = &values[first * h * w..];
            for (plane_in, plane_out) in planes_in.chunks_exact(h * w).zip(planes_out.chunks_exact_mut(oh * ow)) {
                for (rows, row_out) in plane_in.chunks_exact(2 * w).zip(plane_out.chunks_exact_mut(ow)) {
                    let (top, bottom) = rows.split_at(w);
                    for ((o, t), b) in row_out.iter_mut().zip(top.chunks_exact(2)).zip(bottom.chunks_exact(2)) {
                        *o = floor.max(t[0]).max(t[1]).max(b[0]).max(b[1]);
                    }
                }
            }
            Ok(())
        })?;
        let array = tract_ndarray::Array4::from_shape_vec((n, c, oh, ow), out)?;
        Ok(tvec!(array.into_tensor().into_tvalue()))
    }
}

impl TypedOp for MaxPool2x2Stride2 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = inputs[0].shape.as_concrete().context("a 2×2 max pool needs a known input shape")?;
        let &[n, c, h, w] = shape else { bail!("a 2×2 max pool takes NCHW, not {shape:?}") };
        Ok(tvec!(f32::fact([n, c, h / 2, w / 2])))
    }

    as_op!();
}

/// Whether `pool`, reading `input`, is one this op answers exactly as tract does.
fn replaceable(pool: &OptMaxPool, input: &TypedFact) -> bool {
    let spec = &pool.pool_spec;
    let unpadded = match &spec.padding {
        PaddingSpec::Valid => true,
        PaddingSpec::Explicit(before, after) | PaddingSpec::ExplicitOnnxPool(before, after, _) => {
            before.iter().chain(after.iter()).all(|&p| p == 0)
        }
        PaddingSpec::SameUpper | PaddingSpec::SameLower => false,
    };
    let even_plane = match input.shape.as_concrete() {
        Some(&[_, _, h, w]) => h >= 2 && w >= 2 && h % 2 == 0 && w % 2 == 0,
        _ => false,
    };
    pool.with_index_outputs.is_none()
        && spec.data_format == DataFormat::NCHW
        && spec.kernel_shape[..] == [2, 2]
        && spec.strides.as_deref() == Some(&[2, 2][..])
        && spec.dilations.as_deref().is_none_or(|d| d.iter().all(|&d| d == 1))
        && unpadded
        && input.datum_type == f32::datum_type()
        && even_plane
}

/// The node feeding `input` when it is a ReLU (tract's `Max` by a constant 0) read by nothing
/// else, so that a pool reading it can do its work; with that ReLU's own input.
fn lone_relu(model: &TypedModel, input: OutletId) -> TractResult<Option<OutletId>> {
    let node = model.node(input.node);
    let Some(op) = node.op_as::<OptBinByScalar>() else { return Ok(None) };
    if op.binop.name() != "Max" || node.inputs.len() != 2 || node.outputs.len() != 1 {
        return Ok(None);
    }
    let zero = model
        .outlet_fact(node.inputs[1])?
        .konst
        .as_ref()
        .is_some_and(|k| k.len() == 1 && k.datum_type() == f32::datum_type() && k.cast_to_scalar::<f32>().is_ok_and(|v| v == 0.0));
    let (before, after) = (model.outlet_fact(node.inputs[0])?, model.outlet_fact(input)?);
    let read_once = node.outputs[0].successors.len() == 1 && !model.output_outlets()?.contains(&input);
    Ok((zero && read_once && before.datum_type == f32::datum_type() && before.shape == after.shape).then_some(node.inputs[0]))
}

/// Puts [`MaxPool2x2Stride2`] in place of each of the optimized `model`'s max pools it can
/// answer (taking in a ReLU before it where there is one); returns how many.
pub fn replace_max_pools(model: &mut TypedModel) -> TractResult<usize> {
    let mut replaced = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let Some(pool) = node.op_as::<OptMaxPool>() else { continue };
        if node.inputs.len() != 1 || !replaceable(pool, model.outlet_fact(node.inputs[0])?) {
            continue;
        }
        let relu_input = lone_relu(model, node.inputs[0])?;
        let mut patch = TypedModelPatch::default();
        let wire = patch.tap_model(model, relu_input.unwrap_or(node.inputs[0]))?;
        let pooled = patch.wire_node(&node.name, MaxPool2x2Stride2 { after_relu: relu_input.is_some() }, &[wire])?[0];
        patch.shunt_outside(model, node.id.into(), pooled)?;
        patch.apply(model)?;
        replaced += 1;
    }
    Ok(replaced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::cnn::{MaxPool, PoolSpec};

    /// What comes before the pool in a test model.
    #[derive(Clone, Copy, PartialEq)]
    enum Before {
        Nothing,
        /// A ReLU read by the pool alone.
        Relu,
        /// A ReLU whose values are also one of the model's outputs.
        SharedRelu,
    }

    /// A model of one max pool over `shape`, optimized by tract.
    fn pool_model(shape: [usize; 4], padding: PaddingSpec, strides: [usize; 2], before: Before) -> TypedModel {
        let mut model = TypedModel::default();
        let source = model.add_source("input", f32::fact(shape)).expect("source");
        let mut wire = source;
        if before != Before::Nothing {
            let zero = model.add_const("zero", tensor4(&[[[[0f32]]]])).expect("zero");
            wire = model.wire_node("relu", tract_onnx::tract_core::ops::math::max(), &[source, zero]).expect("relu")[0];
        }
        let spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(2, 2),
            padding,
            dilations: None,
            strides: Some(tvec!(strides[0], strides[1])),
            input_channels: shape[1],
            output_channels: shape[1],
        };
        let mut outputs = model.wire_node("pool", MaxPool::new(spec, None), &[wire]).expect("pool").to_vec();
        if before == Before::SharedRelu {
            outputs.push(wire);
        }
        model.select_output_outlets(&outputs).expect("outputs");
        model.into_optimized().expect("optimized")
    }

    /// The names of the ops a run of `model` evaluates.
    fn ops_run(model: &TypedModel) -> Vec<String> {
        model.eval_order().expect("order").into_iter().map(|id| model.node(id).op().name().to_string()).collect()
    }

    fn run(model: TypedModel, input: &Tensor) -> Tensor {
        let plan = model.into_runnable().expect("runnable");
        plan.run(tvec!(input.clone().into_tvalue())).expect("run").remove(0).into_tensor()
    }

    /// Values with ties, negatives, infinities and (when `nan`) NaN, so the order of comparison
    /// shows.
    fn awkward_input(shape: [usize; 4], nan: bool) -> Tensor {
        let mut state = 0x9e37_79b9u32;
        let values: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                match (state % 50, i % 7) {
                    (0, _) if nan => f32::NAN,
                    (1, _) => f32::NEG_INFINITY,
                    (2, _) => f32::INFINITY,
                    (_, 3) => 1.5,
                    _ => (state % 2000) as f32 / 100.0 - 10.0,
                }
            })
            .collect();
        tract_ndarray::Array4::from_shape_vec(shape, values).expect("shape").into_tensor()
    }

    fn assert_same_bits(got: &Tensor, expected: &Tensor, what: &str) {
        assert_eq!(got.shape(), expected.shape(), "{what}");
        let (got, expected) = (got.to_plain_array_view::<f32>().expect("f32"), expected.to_plain_array_view::<f32>().expect("f32"));
        for (i, (g, e)) in got.iter().zip(expected.iter()).enumerate() {
            assert_eq!(g.to_bits(), e.to_bits(), "{what} value {i}: {g} against tract's {e}");
        }
    }

    #[test]
    fn gives_what_tract_gives_bit_for_bit() {
        for shape in [[1, 16, 320, 320], [2, 3, 6, 10], [1, 1, 2, 2]] {
            let mut model = pool_model(shape, PaddingSpec::Valid, [2, 2], Before::Nothing);
            let input = awkward_input(shape, true);
            let expected = run(model.clone(), &input);
            assert_eq!(replace_max_pools(&mut model).expect("replace"), 1, "{shape:?}");
            assert!(ops_run(&model).contains(&"HearthMaxPool2x2Stride2".to_string()), "{:?}", ops_run(&model));
            assert_same_bits(&run(model, &input), &expected, &format!("{shape:?}"));
        }
    }

    #[test]
    fn takes_in_the_relu_before_it_and_gives_what_tract_gives() {
        for shape in [[1, 16, 320, 320], [2, 3, 6, 10]] {
            let mut model = pool_model(shape, PaddingSpec::Valid, [2, 2], Before::Relu);
            let input = awkward_input(shape, false);
            let expected = run(model.clone(), &input);
            assert!(ops_run(&model).iter().any(|op| op.contains("Max") && op.contains("Scalar")), "{:?}", ops_run(&model));
            assert_eq!(replace_max_pools(&mut model).expect("replace"), 1, "{shape:?}");
            let ops = ops_run(&model);
            assert_eq!(ops, ["Source", "HearthReluMaxPool2x2Stride2"], "{shape:?}");
            assert_same_bits(&run(model, &input), &expected, &format!("{shape:?} after a ReLU"));
        }
    }

    #[test]
    fn keeps_a_relu_that_something_else_reads() {
        let shape = [1, 4, 8, 8];
        let mut model = pool_model(shape, PaddingSpec::Valid, [2, 2], Before::SharedRelu);
        let input = awkward_input(shape, false);
        let plan = model.clone().into_runnable().expect("runnable");
        let expected = plan.run(tvec!(input.clone().into_tvalue())).expect("run");
        assert_eq!(replace_max_pools(&mut model).expect("replace"), 1);
        assert!(ops_run(&model).contains(&"HearthMaxPool2x2Stride2".to_string()), "{:?}", ops_run(&model));
        let got = model.into_runnable().expect("runnable").run(tvec!(input.into_tvalue())).expect("run");
        for (g, e) in got.iter().zip(expected.iter()) {
            assert_same_bits(g, e, "shared ReLU");
        }
    }

    #[test]
    fn leaves_pools_it_would_answer_differently_to_tract() {
        for (shape, padding, strides) in [
            ([1, 2, 5, 6], PaddingSpec::Valid, [2, 2]),
            ([1, 2, 6, 6], PaddingSpec::Valid, [1, 1]),
            ([1, 2, 6, 6], PaddingSpec::SameUpper, [2, 2]),
            ([1, 2, 6, 6], PaddingSpec::Explicit(tvec!(1, 1), tvec!(1, 1)), [2, 2]),
        ] {
            let mut model = pool_model(shape, padding.clone(), strides, Before::Nothing);
            assert_eq!(replace_max_pools(&mut model).expect("replace"), 0, "{shape:?} {padding:?} {strides:?}");
        }
    }
}
