"""A PyTorch state dict read without torch, from the legacy (non-zip) checkpoint format.

The file is a row of pickles: a magic number, the protocol version, the writer's type sizes, the
state dict (its tensors reference storages by persistent id), the list of storage keys, and then
each storage's raw bytes in that order (an 8-byte element count, then the elements). The unpickler
resolves only the handful of names a state dict uses (never an arbitrary class: a pickle can run
code), and each tensor becomes a numpy array.
"""
import collections
import io
import pickle
import struct

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001

_STORAGES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class CheckpointError(Exception):
    pass


class _StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(_STORAGES[name])


class _Storage:
    def __init__(self, kind, key, count):
        self.kind = kind
        self.key = key
        self.count = count
        self.array = None


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = offset
        self.size = tuple(size)
        self.stride = tuple(stride)


def _rebuild_tensor(storage, offset, size, stride, *_rest):
    return _Tensor(storage, offset, size, stride)


def _rebuild_parameter(data, *_rest):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGES:
            return _StorageType(name)
        raise CheckpointError(f"the checkpoint names {module}.{name}, which a state dict does not use")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise CheckpointError(f"unknown persistent id {pid!r}")
        kind, key, _location, count = pid[1], str(pid[2]), pid[3], int(pid[4])
        if not isinstance(kind, _StorageType):
            raise CheckpointError(f"storage {key}: unknown type {kind!r}")
        if len(pid) > 5 and pid[5] is not None:
            raise CheckpointError(f"storage {key}: storage views are not supported")
        if key not in self.storages:
            self.storages[key] = _Storage(kind, key, count)
        return self.storages[key]


def read_state_dict(data):
    """{name: numpy array} of a legacy-format checkpoint's bytes."""
    f = io.BytesIO(data)

    def small():
        return _Unpickler(f, {}).load()

    if small() != MAGIC:
        raise CheckpointError("not a legacy PyTorch checkpoint (magic number)")
    if small() != PROTOCOL:
        raise CheckpointError("unsupported checkpoint protocol version")
    info = small()
    if not isinstance(info, dict) or not info.get("little_endian", False):
        raise CheckpointError("the checkpoint was written big-endian")
    storages = {}
    state = _Unpickler(f, storages).load()
    keys = _Unpickler(f, {}).load()
    if not isinstance(keys, list) or set(map(str, keys)) != set(storages):
        raise CheckpointError("the storage keys do not match the tensors")
    for key in keys:
        s = storages[str(key)]
        head = f.read(8)
        if len(head) != 8:
            raise CheckpointError(f"storage {key}: the file ends early")
        (count,) = struct.unpack("<q", head)
        if count != s.count:
            raise CheckpointError(f"storage {key}: {count} elements, the pickle says {s.count}")
        raw = f.read(count * s.kind.dtype.itemsize)
        if len(raw) != count * s.kind.dtype.itemsize:
            raise CheckpointError(f"storage {key}: the file ends early")
        s.array = np.frombuffer(raw, dtype=s.kind.dtype.newbyteorder("<"))
    if f.read(1):
        raise CheckpointError("bytes after the last storage")
    if not isinstance(state, dict):
        raise CheckpointError("the checkpoint holds no state dict")
    out = {}
    for name, t in state.items():
        if not isinstance(t, _Tensor):
            raise CheckpointError(f"{name} is not a tensor")
        itemsize = t.storage.kind.dtype.itemsize
        needed = t.offset + sum((n - 1) * st for n, st in zip(t.size, t.stride)) + 1 if all(t.size) else 0
        if needed > t.storage.count:
            raise CheckpointError(f"{name} reaches past its storage")
        view = np.lib.stride_tricks.as_strided(
            t.storage.array[t.offset:], shape=t.size, strides=[st * itemsize for st in t.stride], writeable=False)
        out[name] = np.array(view)
    return out
