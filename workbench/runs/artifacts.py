"""Artifact kinds: how a named artifact is written to and read from a step folder.

One registry shape for every pluggable axis: :func:`register_kind` adds a kind, :func:`get_kind`
looks one up and fails with the list of kinds that exist. A kind knows its file suffix and how to
save an object to a (temporary) path and load it back; paths, hashes and atomic renames are the
step's business (:mod:`workbench.runs.step`), not the kind's.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import ArtifactError
from workbench.registry import Registry

__all__ = ["ArtifactKind", "get_kind", "guess_kind", "kinds", "register_kind"]


@dataclass(frozen=True)
class ArtifactKind:
    """How one kind of artifact is stored. ``is_dir`` kinds are written as directories."""

    name: str
    suffix: str
    save: Callable[[Any, Path], None]
    load: Callable[[Path], Any]
    is_dir: bool = False
    describe: str = ""


_KINDS: Registry[ArtifactKind] = Registry("artifact kind")


def register_kind(kind: ArtifactKind) -> ArtifactKind:
    return _KINDS.register(kind.name, kind)


def get_kind(name: str) -> ArtifactKind:
    return _KINDS.get(name)


def kinds() -> list[str]:
    return _KINDS.names()


# -- built-in kinds ----------------------------------------------------------------------------

def _save_json(obj: Any, path: Path) -> None:
    from workbench.runs.atomic import _json_default

    path.write_text(json.dumps(obj, indent=2, default=_json_default, allow_nan=False) + "\n",
                    encoding="utf-8")


def _save_text(obj: str, path: Path) -> None:
    path.write_text(obj, encoding="utf-8")


def _save_bytes(obj: bytes, path: Path) -> None:
    path.write_bytes(obj)


def _save_parquet(obj: Any, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(obj, pa.Table):
        if hasattr(obj, "to_arrow"):  # polars
            obj = obj.to_arrow()
        else:  # pandas
            obj = pa.Table.from_pandas(obj, preserve_index=False)
    pq.write_table(obj, path, compression="zstd")


def _save_parquet_shards(obj: Any, path: Path) -> None:
    """A folder of part files copied in, or a table written as one part."""
    if isinstance(obj, (str, Path)):
        shutil.copytree(obj, path, dirs_exist_ok=True)
    else:
        _save_parquet(obj, path / "part-00000.parquet")


def _load_parquet(path: Path) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(path)


def _save_proto(obj: Any, path: Path) -> None:
    path.write_bytes(obj.SerializeToString(deterministic=True))


def _save_pbtxt(obj: Any, path: Path) -> None:
    from google.protobuf import text_format

    path.write_text(text_format.MessageToString(obj), encoding="utf-8")


def _copy_file(src: Any, path: Path) -> None:
    shutil.copyfile(src, path)


def _copy_tree(src: Any, path: Path) -> None:
    shutil.copytree(src, path, dirs_exist_ok=True)


def _load_proto_unsupported(path: Path) -> Any:
    raise ArtifactError(
        f"{path.name} is a protocol buffer; say which message it holds",
        hint="read it with step.load(ref, message=SomeMessageClass)",
    )


def _save_figure(fig: Any, path: Path) -> None:
    fig.savefig(path, format="png", dpi=110, bbox_inches="tight")


register_kind(ArtifactKind("json", ".json", _save_json,
                           lambda p: json.loads(p.read_text(encoding="utf-8")),
                           describe="a JSON document"))
register_kind(ArtifactKind("text", ".txt", _save_text, lambda p: p.read_text(encoding="utf-8"),
                           describe="UTF-8 text"))
register_kind(ArtifactKind("bytes", ".bin", _save_bytes, lambda p: p.read_bytes(),
                           describe="raw bytes"))
register_kind(ArtifactKind("parquet", ".parquet", _save_parquet, _load_parquet,
                           describe="a table (pyarrow, pandas or polars) as Parquet"))
register_kind(ArtifactKind("parquet_shards", "", _save_parquet_shards, _load_parquet,
                           is_dir=True, describe="a table as a folder of Parquet part files "
                           "(loads whole; its path streams)"))
register_kind(ArtifactKind("proto", ".pb", _save_proto, _load_proto_unsupported,
                           describe="a binary protocol buffer"))
register_kind(ArtifactKind("pbtxt", ".pbtxt", _save_pbtxt, _load_proto_unsupported,
                           describe="a protocol buffer in text format"))
register_kind(ArtifactKind("png", ".png", _save_figure, lambda p: p.read_bytes(),
                           describe="a matplotlib figure as PNG"))
register_kind(ArtifactKind("file", "", _copy_file, lambda p: p,
                           describe="any file, copied in; loads as its path"))
register_kind(ArtifactKind("dir", "", _copy_tree, lambda p: p, is_dir=True,
                           describe="a directory (e.g. a SavedModel); loads as its path"))


def guess_kind(obj: Any) -> str:
    """The kind for an object when the caller names none."""
    if isinstance(obj, (dict, list)):
        return "json"
    if isinstance(obj, str):
        return "text"
    if isinstance(obj, (bytes, bytearray)):
        return "bytes"
    if isinstance(obj, Path):
        return "dir" if obj.is_dir() else "file"
    module = type(obj).__module__
    if module.startswith(("pyarrow", "pandas", "polars")):
        return "parquet"
    if hasattr(obj, "SerializeToString") and hasattr(obj, "DESCRIPTOR"):
        return "proto"
    if hasattr(obj, "savefig"):
        return "png"
    raise ArtifactError(
        f"cannot tell how to store a {type(obj).__name__}",
        hint=f"pass kind= one of: {', '.join(kinds())}",
    )
