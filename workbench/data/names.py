"""Safe feature names for any header: ``Amount (EUR)`` → ``amount_eur``, ``Müller`` → ``muller``.

A safe name matches ``[a-z][a-z0-9_]*`` (at most :data:`MAX_LENGTH` characters), which every
TensorFlow signature input, Keras layer, file name and SQL dialect accepts. Letters are folded to
ASCII with Unicode's compatibility decomposition (NFKD) and their accents dropped; the few Latin
letters that do not decompose (``ß``, ``ø``, ``æ`` …) are spelled out. A header with no ASCII
letter or digit left (``東京``, an emoji, an empty header) is called ``col_<position>``
(1-based), a header starting with a digit gets the ``col_`` prefix, and names that collide get
``_2``, ``_3`` … in column order. Every change that loses information is a warning.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["MAX_LENGTH", "ColumnName", "model_name", "safe_name", "safe_names"]

MAX_LENGTH = 64
_SPELLED = {"ß": "ss", "ẞ": "Ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "œ": "oe",
            "Œ": "Oe", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "Th",
            "ð": "d", "Ð": "D", "ı": "i", "€": "eur", "£": "gbp", "$": "usd", "%": "pct",
            "#": "nr"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_SAFE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ColumnName:
    """One column's header and the feature name it is known by from ingest on."""

    index: int  # 0-based position in the file
    original: str
    safe: str
    note: str = ""  # why the safe name is not just the header folded, if it is not

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"index": self.index, "original": self.original,
                                  "safe": self.safe}
        if self.note:
            out["note"] = self.note
        return out


def _fold(text: str) -> str:
    spelled = "".join(_SPELLED.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", spelled)
    ascii_only = "".join(ch for ch in decomposed if ord(ch) < 128)
    split = _CAMEL.sub("_", ascii_only)
    return _NOT_SAFE.sub("_", split.lower()).strip("_")


def safe_name(header: str, index: int) -> str:
    """The safe form of one header at 0-based position ``index`` (before de-duplication)."""
    name = _fold(header or "")
    if not name:
        return f"col_{index + 1}"
    if not name[0].isalpha():
        name = f"col_{name}"
    return name[:MAX_LENGTH].rstrip("_")


def safe_names(headers: list[str]) -> tuple[list[ColumnName], list[str]]:
    """Unique safe names for a header row, and a warning for each lossy change."""
    out: list[ColumnName] = []
    warnings: list[str] = []
    taken: set[str] = set()
    wanted = [safe_name(h, i) for i, h in enumerate(headers)]
    first_of: dict[str, int] = {}
    for index, (header, name) in enumerate(zip(headers, wanted, strict=True)):
        note = ""
        if not (header or "").strip():
            note = "empty header"
            warnings.append(f"column {index + 1} has no header: it is called '{name}'")
        elif name == f"col_{index + 1}":
            note = "no ASCII letters"
            warnings.append(f"the header '{header}' (column {index + 1}) has no letters or "
                            f"digits in ASCII: it is called '{name}'")
        if name in taken:
            base, k = name, 2
            while f"{base}_{k}" in taken or f"{base}_{k}" in wanted:
                k += 1
            name = f"{base}_{k}"
            other = first_of[base]
            note = note or f"same name as column {other + 1}"
            warnings.append(f"the headers '{headers[other]}' (column {other + 1}) and "
                            f"'{header}' (column {index + 1}) both become '{base}': the second "
                            f"is called '{name}'")
        first_of.setdefault(wanted[index], index)
        taken.add(name)
        out.append(ColumnName(index, header, name, note))
    return out, warnings


def model_name(data_name: str) -> str:
    """The name a model trained on this data is served under by default (stage 06, and the
    model whose request logs stage 01 expects): the file's stem, other characters than
    letters, digits, ``_-.`` as ``_``."""
    from pathlib import Path

    stem = Path(data_name).stem
    out = "".join(c if c.isalnum() or c in "_-." else "_" for c in stem)
    return out or "model"
