"""Protobuf's wire format parsed with NumPy for many messages at once.

A layer of messages is a set of byte ranges ``[start, end)`` into one buffer (a file's bytes).
:func:`fields` parses all of them in lockstep, one step per field position: each step reads
the tag and length varints of every message still holding bytes, so the cost is a few array
operations per field position, not per message. :class:`Fields` holds what was found; a nested
message is parsed by calling :func:`fields` again on its ranges. :func:`gather` and the
helpers cut values out of the buffer without an index array per byte where they can.

Anything this parser does not read (a group, an unknown wire type, a field running past its
message, bytes past the buffer) raises :class:`Irregular` (or ``IndexError``): the caller then
decodes those records with the protobuf classes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

__all__ = ["Fields", "Irregular", "fields", "gather", "map_entries", "one", "rows",
           "same_head", "strings", "text", "varint", "varint_bytes", "words"]


class Irregular(Exception):
    """A chunk the vectorised path does not read: decode it record by record."""


def varint(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The varints starting at ``pos`` (int64 array) and the positions after them."""
    byte = buf[pos]  # IndexError past the buffer: the caller decodes record by record
    high = byte >= 0x80
    if not high.any():  # the common case: every varint is one byte
        return byte.astype(np.int64), pos + 1
    more = np.flatnonzero(high)
    value = (byte & 0x7F).astype(np.uint64)
    after = pos + 1
    shift = 7
    while more.size:
        if shift > 63:
            raise Irregular("a varint longer than 10 bytes")
        at = after[more]
        byte = buf[at]
        value[more] |= (byte & 0x7F).astype(np.uint64) << np.uint64(shift)
        after[more] = at + 1
        more = more[byte >= 0x80]
        shift += 7
    return value.astype(np.int64), after


@dataclass
class Fields:
    """The fields of a layer of messages: for each, the message it is in, its position in
    the message (``step``), its tag (number << 3 | wire type), and its payload's byte range
    [start, end) — for a varint (wire type 0) ``start`` is the value. They are ordered by
    ``step``, then by message."""

    msg: np.ndarray
    step: np.ndarray
    tag: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @property
    def value(self) -> np.ndarray:
        return self.start

    def of(self, number: int, wire: int = 2) -> Fields:
        keep = self.tag == (number << 3 | wire)
        return Fields(*(a[keep] for a in (self.msg, self.step, self.tag, self.start,
                                           self.end)))

    def others(self, numbers: Iterable[int]) -> np.ndarray:
        return ~np.isin(self.tag >> 3, list(numbers))


def fields(buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> Fields:
    """Parse every message [start, end) of a layer, all messages one field position at a
    time."""
    cursor = start.astype(np.int64, copy=True)
    active = np.flatnonzero(cursor < end)
    parts = []
    while active.size:
        full = active.size == cursor.size
        tag, pos = varint(buf, cursor if full else cursor[active])
        wire = tag & 7
        if np.all(wire == 2):  # a layer of messages and strings: no masks
            length, s = varint(buf, pos)
            e = s + length
        else:
            if np.any((wire == 3) | (wire == 4) | (wire > 5)):
                raise Irregular("a group or an unknown wire type")
            s = pos.copy()
            e = pos.copy()
            w0 = np.flatnonzero(wire == 0)
            if w0.size:
                s[w0], e[w0] = varint(buf, pos[w0])
            w2 = np.flatnonzero(wire == 2)
            if w2.size:
                length, s[w2] = varint(buf, pos[w2])
                e[w2] = s[w2] + length
            e[wire == 1] += 8
            e[wire == 5] += 4
        limit = end if full else end[active]
        if np.any(e > limit):
            raise Irregular("a field runs past its message")
        parts.append((active, np.full(active.size, len(parts), np.int32),
                      tag.astype(np.int32), s, e))
        if full:
            cursor = e.copy()  # e is kept in parts: never written through cursor
        else:
            cursor[active] = e
        active = active[e < limit]
    if not parts:
        empty = np.zeros(0, np.int64)
        return Fields(empty, empty.astype(np.int32), empty.astype(np.int32), empty, empty)
    return Fields(*(np.concatenate(col) for col in zip(*parts, strict=True)))


def map_entries(buf: np.ndarray, start: np.ndarray, end: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Map entries laid out as protobuf writes them — the key (field 1, under 128 bytes)
    then the value (field 2), nothing else — read without the general parser: (key start,
    key end, value start, value end), or None when any entry is laid out otherwise."""
    if not start.size or int(start.max()) + 2 > buf.size:
        return None
    if np.any(buf[start] != 0x0A):
        return None
    klen = buf[start + 1].astype(np.int64)
    if np.any(klen >= 0x80):
        return None
    k_start = start + 2
    k_end = k_start + klen
    if np.any(k_end + 2 > end) or np.any(buf[k_end] != 0x12):
        return None
    vlen, t_start = varint(buf, k_end + 1)
    t_end = t_start + vlen
    if np.any(t_end != end):
        return None
    return k_start, k_end, t_start, t_end


def one(found: Fields, messages: int, number: int, wire: int = 2
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A singular field of each message: (present, start, end) per message. A field given
    twice (protobuf would merge or take the last) is :class:`Irregular`."""
    got = found.of(number, wire)
    if got.msg.size and int(np.bincount(got.msg).max()) > 1:
        raise Irregular("a singular field given twice")
    present = np.zeros(messages, bool)
    start = np.zeros(messages, np.int64)
    end = np.zeros(messages, np.int64)
    present[got.msg] = True
    start[got.msg] = got.start
    end[got.msg] = got.end
    return present, start, end


def gather(buf: np.ndarray, start: np.ndarray, end: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of the ranges, concatenated, and their offsets."""
    lengths = end - start
    offsets = np.zeros(lengths.size + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if lengths.size and np.all(lengths == lengths[0]):
        width = int(lengths[0])
        if width in (1, 2, 4, 8) and int(start.max()) + width <= buf.size:
            return words(buf, width)[start].view(np.uint8), offsets
        return rows(buf, start, width).reshape(-1), offsets
    if start.size and int(lengths.max()) <= 8 and int(start.max()) + 8 <= buf.size:
        # short strings (country codes, channels): one 8-byte load each, the bytes kept
        keep = np.arange(8) < lengths[:, None]
        return words(buf, 8)[start].view(np.uint8).reshape(-1, 8)[keep], offsets
    idx = np.repeat(start - offsets[:-1], lengths) + np.arange(total)
    return buf[idx], offsets


def words(buf: np.ndarray, width: int) -> np.ndarray:
    """``buf`` as little-endian unsigned integers of ``width`` bytes starting at every byte
    (a view: reading one is an unaligned load)."""
    return np.ndarray(shape=(buf.size - width + 1,), dtype=f"<u{width}", buffer=buf,
                      strides=(1,))


def rows(buf: np.ndarray, start: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes at each start, one row each (a row-wise copy out of a sliding
    window view: no index array per byte)."""
    if width == 0 or not start.size:
        return np.zeros((start.size, width), np.uint8)
    if int(start.max()) + width > buf.size:
        raise Irregular("a field runs past the file")
    return np.lib.stride_tricks.sliding_window_view(buf, width)[start]


def text(buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> pa.Array:
    """Strings of the ranges; one repeated value when every range holds the same bytes (a
    model name, a signature)."""
    if start.size and np.all(end - start == end[0] - start[0]):
        first = buf[start[0]:end[0]].tobytes()
        if same_head(buf, start, end, first):
            try:
                return pa.repeat(pa.scalar(first.decode("utf-8"), pa.string()), start.size)
            except UnicodeDecodeError as err:
                raise Irregular("text that is not UTF-8") from err
    return strings(buf, start, end)


def strings(buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> pa.Array:
    data, offsets = gather(buf, start, end)
    if offsets[-1] >= 1 << 31:
        raise Irregular("more than 2 GB of text in one chunk")
    arr = pa.StringArray.from_buffers(len(start), pa.py_buffer(offsets.astype(np.int32)),
                                      pa.py_buffer(data))
    try:
        arr.validate(full=True)
    except pa.ArrowInvalid as err:
        raise Irregular("text that is not UTF-8") from err
    return arr


def same_head(buf: np.ndarray, start: np.ndarray, end: np.ndarray, head: bytes,
               least: int | None = None) -> bool:
    """Whether every range begins with ``head`` (and is at least ``least`` bytes long)."""
    if np.any(end - start < (least or len(head))):
        return False
    size = len(head)
    if not size or not start.size:
        return True
    if int(start.max()) + size <= buf.size:
        width = next(w for w in (8, 4, 2, 1) if w <= size)
        loads = words(buf, width)
        at = list(range(0, size - width + 1, width))
        if at[-1] != size - width:
            at.append(size - width)  # the last word overlaps the one before
        return all(not np.any(loads[start + o] != int.from_bytes(head[o:o + width], "little"))
                   for o in at)
    return False  # a range runs past the buffer


def varint_bytes(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
