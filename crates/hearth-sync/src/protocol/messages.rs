//! The BEP messages, written with prost's derive macros to match `proto/bep.proto` (no protoc
//! at build time). Enumerations are stored as `i32` on the wire types, as prost does, so an
//! unknown value from a newer peer decodes instead of failing; code reads them through the
//! generated `try_from` and decides.

/// First message on a connection, before anything else.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Hello {
    /// The sender's device name.
    #[prost(string, tag = "1")]
    pub device_name: String,
    /// Program name (`syncthing`, `hearth`).
    #[prost(string, tag = "2")]
    pub client_name: String,
    /// Program version.
    #[prost(string, tag = "3")]
    pub client_version: String,
    /// QUIC multi-stream support (Hearth speaks TCP only).
    #[prost(bool, tag = "4")]
    pub supports_multiple_quic_streams: bool,
}

/// Precedes every message after Hello.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Header {
    /// [`MessageType`].
    #[prost(enumeration = "MessageType", tag = "1")]
    pub r#type: i32,
    /// [`MessageCompression`].
    #[prost(enumeration = "MessageCompression", tag = "2")]
    pub compression: i32,
}

/// Message types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MessageType {
    /// [`ClusterConfig`].
    ClusterConfig = 0,
    /// [`Index`].
    Index = 1,
    /// [`IndexUpdate`].
    IndexUpdate = 2,
    /// [`Request`].
    Request = 3,
    /// [`Response`].
    Response = 4,
    /// [`DownloadProgress`].
    DownloadProgress = 5,
    /// [`Ping`].
    Ping = 6,
    /// [`Close`].
    Close = 7,
}

/// Message compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MessageCompression {
    /// As is.
    None = 0,
    /// LZ4 block with a 4-byte big-endian length in front.
    Lz4 = 1,
}

/// Which folders each side shares with whom.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClusterConfig {
    /// Folders.
    #[prost(message, repeated, tag = "1")]
    pub folders: Vec<Folder>,
}

/// A shared folder.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Folder {
    /// Folder id.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Label.
    #[prost(string, tag = "2")]
    pub label: String,
    /// Send-only on the sender's side.
    #[prost(bool, tag = "3")]
    pub read_only: bool,
    /// Permissions are not synced.
    #[prost(bool, tag = "4")]
    pub ignore_permissions: bool,
    /// Deletes are not applied.
    #[prost(bool, tag = "5")]
    pub ignore_delete: bool,
    /// No temporary indexes.
    #[prost(bool, tag = "6")]
    pub disable_temp_indexes: bool,
    /// Paused.
    #[prost(bool, tag = "7")]
    pub paused: bool,
    /// Devices sharing it.
    #[prost(message, repeated, tag = "16")]
    pub devices: Vec<Device>,
}

/// A device sharing a folder.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Device {
    /// 32 raw bytes.
    #[prost(bytes = "vec", tag = "1")]
    pub id: Vec<u8>,
    /// Name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Addresses.
    #[prost(string, repeated, tag = "3")]
    pub addresses: Vec<String>,
    /// [`Compression`].
    #[prost(enumeration = "Compression", tag = "4")]
    pub compression: i32,
    /// Expected certificate common name.
    #[prost(string, tag = "5")]
    pub cert_name: String,
    /// Highest sequence this device has for the folder.
    #[prost(int64, tag = "6")]
    pub max_sequence: i64,
    /// Introducer.
    #[prost(bool, tag = "7")]
    pub introducer: bool,
    /// Index id (changes when the index is reset).
    #[prost(uint64, tag = "8")]
    pub index_id: u64,
    /// Introducer detail.
    #[prost(bool, tag = "9")]
    pub skip_introduction_removals: bool,
    /// Untrusted (encrypted) devices only.
    #[prost(bytes = "vec", tag = "10")]
    pub encryption_password_token: Vec<u8>,
}

/// When a device wants messages compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Compression {
    /// All but Response.
    Metadata = 0,
    /// Never.
    Never = 1,
    /// Always.
    Always = 2,
}

/// A folder's whole index.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Index {
    /// Folder id.
    #[prost(string, tag = "1")]
    pub folder: String,
    /// Files.
    #[prost(message, repeated, tag = "2")]
    pub files: Vec<FileInfo>,
}

/// Changes to a folder's index.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IndexUpdate {
    /// Folder id.
    #[prost(string, tag = "1")]
    pub folder: String,
    /// Files.
    #[prost(message, repeated, tag = "2")]
    pub files: Vec<FileInfo>,
}

/// One file, folder or link as a device has it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FileInfo {
    /// Path relative to the folder, `/`-separated.
    #[prost(string, tag = "1")]
    pub name: String,
    /// [`FileInfoType`].
    #[prost(enumeration = "FileInfoType", tag = "2")]
    pub r#type: i32,
    /// Bytes.
    #[prost(int64, tag = "3")]
    pub size: i64,
    /// Unix permission bits.
    #[prost(uint32, tag = "4")]
    pub permissions: u32,
    /// Modification time, seconds.
    #[prost(int64, tag = "5")]
    pub modified_s: i64,
    /// Deleted.
    #[prost(bool, tag = "6")]
    pub deleted: bool,
    /// Invalid (ignored, or not fully available).
    #[prost(bool, tag = "7")]
    pub invalid: bool,
    /// Permissions are not to be applied.
    #[prost(bool, tag = "8")]
    pub no_permissions: bool,
    /// Version vector.
    #[prost(message, optional, tag = "9")]
    pub version: Option<Vector>,
    /// Sequence number in the sender's index.
    #[prost(int64, tag = "10")]
    pub sequence: i64,
    /// Modification time, nanoseconds part.
    #[prost(int32, tag = "11")]
    pub modified_ns: i32,
    /// Short id of the device that last changed it.
    #[prost(uint64, tag = "12")]
    pub modified_by: u64,
    /// Block size (0: the default for the size).
    #[prost(int32, tag = "13")]
    pub block_size: i32,
    /// Ownership and extended attributes.
    #[prost(message, optional, tag = "14")]
    pub platform: Option<PlatformData>,
    /// Blocks.
    #[prost(message, repeated, tag = "16")]
    pub blocks: Vec<BlockInfo>,
    /// Link target.
    #[prost(string, tag = "17")]
    pub symlink_target: String,
    /// Hash of the block list.
    #[prost(bytes = "vec", tag = "18")]
    pub blocks_hash: Vec<u8>,
    /// Untrusted devices only.
    #[prost(bytes = "vec", tag = "19")]
    pub encrypted: Vec<u8>,
}

/// Entry types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum FileInfoType {
    /// Regular file.
    File = 0,
    /// Folder.
    Directory = 1,
    /// Old symlink kind.
    SymlinkFile = 2,
    /// Old symlink kind.
    SymlinkDirectory = 3,
    /// Symbolic link.
    Symlink = 4,
}

/// One block of a file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BlockInfo {
    /// Offset in the file.
    #[prost(int64, tag = "1")]
    pub offset: i64,
    /// Bytes.
    #[prost(int32, tag = "2")]
    pub size: i32,
    /// SHA-256 of the block.
    #[prost(bytes = "vec", tag = "3")]
    pub hash: Vec<u8>,
    /// Adler-32-like rolling hash (unused by Hearth; kept for peers).
    #[prost(uint32, tag = "4")]
    pub weak_hash: u32,
}

/// A version vector.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Vector {
    /// Counters.
    #[prost(message, repeated, tag = "1")]
    pub counters: Vec<Counter>,
}

/// One device's counter.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Counter {
    /// Short device id.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Value.
    #[prost(uint64, tag = "2")]
    pub value: u64,
}

/// Ownership and attributes (Hearth reads the Unix part).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PlatformData {
    /// Unix ownership.
    #[prost(message, optional, tag = "1")]
    pub unix: Option<UnixData>,
}

/// Unix ownership.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UnixData {
    /// Owner name.
    #[prost(string, tag = "1")]
    pub owner_name: String,
    /// Group name.
    #[prost(string, tag = "2")]
    pub group_name: String,
    /// Uid.
    #[prost(int32, tag = "3")]
    pub uid: i32,
    /// Gid.
    #[prost(int32, tag = "4")]
    pub gid: i32,
}

/// Ask for a block.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    /// Request id, echoed in the response.
    #[prost(int32, tag = "1")]
    pub id: i32,
    /// Folder id.
    #[prost(string, tag = "2")]
    pub folder: String,
    /// File name.
    #[prost(string, tag = "3")]
    pub name: String,
    /// Offset.
    #[prost(int64, tag = "4")]
    pub offset: i64,
    /// Bytes.
    #[prost(int32, tag = "5")]
    pub size: i32,
    /// Expected SHA-256.
    #[prost(bytes = "vec", tag = "6")]
    pub hash: Vec<u8>,
    /// Read from the sender's temporary file.
    #[prost(bool, tag = "7")]
    pub from_temporary: bool,
    /// Weak hash.
    #[prost(uint32, tag = "8")]
    pub weak_hash: u32,
    /// Block number.
    #[prost(int32, tag = "9")]
    pub block_no: i32,
}

/// A block, or why not.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    /// The request's id.
    #[prost(int32, tag = "1")]
    pub id: i32,
    /// The data (shares the received message's buffer: no copy per block).
    #[prost(bytes = "bytes", tag = "2")]
    pub data: prost::bytes::Bytes,
    /// [`ErrorCode`].
    #[prost(enumeration = "ErrorCode", tag = "3")]
    pub code: i32,
}

/// Response codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ErrorCode {
    /// Here is the data.
    NoError = 0,
    /// Something failed.
    Generic = 1,
    /// No such file.
    NoSuchFile = 2,
    /// The file is invalid.
    InvalidFile = 3,
}

/// Which blocks of files in progress a device already has.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DownloadProgress {
    /// Folder id.
    #[prost(string, tag = "1")]
    pub folder: String,
    /// Updates.
    #[prost(message, repeated, tag = "2")]
    pub updates: Vec<FileDownloadProgressUpdate>,
}

/// Progress of one file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FileDownloadProgressUpdate {
    /// Append or forget.
    #[prost(enumeration = "FileDownloadProgressUpdateType", tag = "1")]
    pub update_type: i32,
    /// File name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Version being downloaded.
    #[prost(message, optional, tag = "3")]
    pub version: Option<Vector>,
    /// Blocks now available (not packed, as Syncthing sends them).
    #[prost(int32, repeated, packed = "false", tag = "4")]
    pub block_indexes: Vec<i32>,
    /// Block size.
    #[prost(int32, tag = "5")]
    pub block_size: i32,
}

/// Progress update kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum FileDownloadProgressUpdateType {
    /// More blocks.
    Append = 0,
    /// Download ended.
    Forget = 1,
}

/// Keep-alive.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ping {}

/// Goodbye, with a reason.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Close {
    /// Why.
    #[prost(string, tag = "1")]
    pub reason: String,
}

/// Any message after Hello.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// Cluster config.
    ClusterConfig(ClusterConfig),
    /// Full index.
    Index(Index),
    /// Index changes.
    IndexUpdate(IndexUpdate),
    /// Block request.
    Request(Request),
    /// Block response.
    Response(Response),
    /// Download progress.
    DownloadProgress(DownloadProgress),
    /// Keep-alive.
    Ping(Ping),
    /// Goodbye.
    Close(Close),
}

impl Message {
    /// The type in the header.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::ClusterConfig(_) => MessageType::ClusterConfig,
            Message::Index(_) => MessageType::Index,
            Message::IndexUpdate(_) => MessageType::IndexUpdate,
            Message::Request(_) => MessageType::Request,
            Message::Response(_) => MessageType::Response,
            Message::DownloadProgress(_) => MessageType::DownloadProgress,
            Message::Ping(_) => MessageType::Ping,
            Message::Close(_) => MessageType::Close,
        }
    }
}
