//! What the rest of Hearth hears from sync (the photo library watches [`SyncEvent::FileArrived`]).
//! Delivered on a broadcast channel: a slow listener misses events (and is told how many) rather
//! than slowing transfers down.

use crate::folder::FolderState;

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// A file is complete on the NAS (received from a peer).
    FileArrived {
        /// Folder id.
        folder: String,
        /// Its name in the folder.
        name: String,
        /// Bytes.
        size: u64,
    },
    /// A file was moved into the versions folder because a peer deleted or replaced it.
    FileVersioned {
        /// Folder id.
        folder: String,
        /// Its name in the folder.
        name: String,
    },
    /// Everything the connected peers announced is on the NAS.
    InSync {
        /// Folder id.
        folder: String,
    },
    /// A folder changed state.
    FolderState {
        /// Folder id.
        folder: String,
        /// The new state.
        state: FolderState,
    },
    /// A paired device connected.
    DeviceConnected {
        /// Device id.
        device: String,
    },
    /// A paired device went away.
    DeviceDisconnected {
        /// Device id.
        device: String,
    },
}
