//! Where tract spends a model's time (docs/ml.md, "Benchmark"): each node of the plan that
//! hearth-ml runs, timed over 20 runs after 3 warm-up runs, summed by operator and listed by node,
//! the slowest first.
//!
//!   cargo run --release -p hearth-ml --example profile_model -- MODEL [THREADS [FILE.onnx]]
//!
//! With `HEARTH_ML_ARITHMETIC=int8` the plan computes its convolutions in int8, as on a board
//! whose profile says so.
//!
//! MODEL is a pinned model's id (face-detector, face-embedder, object-detector,
//! image-classifier), read from `HEARTH_MODELS` or the usual models folder and checked; FILE
//! profiles another ONNX file with that model's input shape instead (a model changed by hand, to
//! see what a change would gain).
use std::collections::BTreeMap;
use std::time::Instant;

use hearth_core::board::MlArithmetic;
use hearth_ml::ModelId;
use hearth_ml::backend::tract_cpu;
use hearth_ml::model_store::ModelStore;
use tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::{SimpleState, eval};
use tract_onnx::tract_core::runtime::RunOptions;

const WARMUP: usize = 3;
const RUNS: usize = 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map(String::as_str).unwrap_or("face-detector");
    let id = ModelId::ALL.into_iter().find(|m| m.as_str() == name).ok_or(format!("no pinned model {name}"))?;
    let threads: usize = args.get(2).map(|t| t.parse()).transpose()?.unwrap_or(1);
    let shape: Vec<usize> = match id {
        ModelId::FaceDetector => vec![1, 3, 640, 640],
        ModelId::FaceEmbedder => vec![1, 3, 112, 112],
        ModelId::ObjectDetector => vec![1, 3, 416, 416],
        _ => vec![1, 3, 224, 224],
    };
    let bytes = match args.get(3) {
        Some(file) => std::fs::read(file)?,
        None => {
            let dir = std::env::var_os("HEARTH_MODELS").map_or_else(ModelStore::default_dir, Into::into);
            ModelStore::new(dir)?.read(id)?.bytes
        }
    };
    let arithmetic: MlArithmetic = std::env::var("HEARTH_ML_ARITHMETIC").as_deref().unwrap_or("f32").parse()?;
    let (typed, _, _) = tract_cpu::optimized(id, &bytes, &shape, false, arithmetic)?;
    let options = RunOptions { executor: (threads > 1).then(|| Executor::multithread_with_name(threads, "profile")), ..Default::default() };
    let plan = typed.into_runnable_with_options(&options)?;
    // A deterministic picture-like input: the plan's times do not depend on the values.
    let input: Tensor = tract_ndarray::ArrayD::from_shape_fn(shape.clone(), |ix| ((ix[1] * 7 + ix[2] * 3 + ix[3]) % 255) as f32).into();

    let mut per_node: BTreeMap<usize, f64> = BTreeMap::new();
    let mut total = 0.0;
    for run in 0..WARMUP + RUNS {
        let mut state = SimpleState::new(&plan)?;
        let mut times: Vec<(usize, f64)> = vec![];
        let started = Instant::now();
        state.run_plan_with_eval(tvec!(input.clone().into()), |ctx, op_state, node, inputs| {
            let t = Instant::now();
            let outputs = eval(ctx, op_state, node, inputs);
            times.push((node.id, t.elapsed().as_secs_f64() * 1000.0));
            outputs
        })?;
        if run >= WARMUP {
            total += started.elapsed().as_secs_f64() * 1000.0 / RUNS as f64;
            for (node, ms) in times {
                *per_node.entry(node).or_default() += ms / RUNS as f64;
            }
        }
    }

    let model = plan.model();
    let mut by_op: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (&node, &ms) in &per_node {
        let entry = by_op.entry(model.node(node).op().name().to_string()).or_default();
        entry.0 += ms;
        entry.1 += 1;
    }
    println!("{id}, {threads} thread(s), {arithmetic:?}: {total:.2} ms per run, {} nodes run", per_node.len());
    let mut by_op: Vec<_> = by_op.into_iter().collect();
    by_op.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
    for (op, (ms, count)) in by_op {
        println!("{ms:8.2} ms  {count:4} × {op}");
    }
    println!("slowest nodes:");
    let mut nodes: Vec<_> = per_node.into_iter().collect();
    nodes.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (node, ms) in nodes.into_iter().take(25) {
        let node = model.node(node);
        let shapes: Vec<String> = node.outputs.iter().map(|o| format!("{:?}", o.fact.shape)).collect();
        println!("{ms:8.2} ms  #{} {} {} -> {}", node.id, node.name, node.op().name(), shapes.join(", "));
    }
    Ok(())
}
