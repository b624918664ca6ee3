//! BEP v1 on the wire: the messages (field for field `proto/bep.proto`) and their framing.

pub mod frame;
pub mod messages;
pub mod recycled;
