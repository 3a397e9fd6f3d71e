"""A pickle-free container: a JSON header and binary blobs, with tagged JSON values.

The layout is ``magic (8 bytes) | blob count | blob lengths | header length
| header (UTF-8 JSON) | blobs``, each count and length 8 bytes,
little-endian. The header refers to a blob by its index. An array of numbers or
booleans is its raw bytes, with its dtype and shape in the header (what a
``.npy`` file holds, without a header to parse per array: thousands of
small arrays read several times faster); an array of any other dtype is a
``.npy`` blob, read back with ``allow_pickle=False``. Circuits are one QPY
blob. Metadata values JSON cannot hold are tagged (``{"$mj": "tuple", ...}``);
a value of a type the codec does not know is kept as its ``repr`` (tagged
``"repr"``), and read back as that string: nothing is ever unpickled or
imported by name.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from managedjob.exceptions import InvalidInputError

__all__ = ["BlobReader", "BlobWriter", "TAG"]

TAG = "$mj"
_LENGTH = struct.Struct("<Q")
_PLAIN = (str, int, float, bool, type(None))
# Booleans and numbers: their raw bytes, dtype and shape say all of them.
_RAW_KINDS = frozenset("biufc")


class BlobWriter:
    """Collects blobs and writes the container."""

    def __init__(self, magic: bytes) -> None:
        self._magic = magic
        self._blobs: list[bytes] = []

    def blob(self, data: bytes) -> int:
        """Add a blob; return its index."""
        self._blobs.append(data)
        return len(self._blobs) - 1

    def array(self, array: np.ndarray[Any, Any]) -> dict[str, Any]:
        """Add an array; return its reference for the header.

        Raises:
            ValueError: If the array holds Python objects (``.npy`` would pickle them).
        """
        dtype = array.dtype
        if dtype.kind in _RAW_KINDS and dtype.fields is None and dtype.subdtype is None:
            data = np.ascontiguousarray(array).tobytes()
            return {"raw": self.blob(data), "dtype": dtype.str, "shape": list(array.shape)}
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return {"npy": self.blob(buffer.getvalue())}

    def value(self, value: Any) -> Any:
        """Return ``value`` as JSON data; arrays go to blobs, unknown types to their repr."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        # Metadata is mostly dicts and lists of plain values: keep those leaves
        # out of the recursion.
        if kind is dict and TAG not in value and all(type(key) is str for key in value):
            return {
                key: item if type(item) in _PLAIN else self.value(item)
                for key, item in value.items()
            }
        if kind is list:
            return [item if type(item) in _PLAIN else self.value(item) for item in value]
        if isinstance(value, np.generic):
            return self.value(value.item())
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                items = [self.value(item) for item in value.ravel().tolist()]
                return {TAG: "objects", "shape": list(value.shape), "v": items}
            return {TAG: "ndarray", "array": self.array(value)}
        # Subclasses of plain types (IntEnum, str enums, numpy's float64) as the plain type.
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, complex):
            return {TAG: "complex", "v": [value.real, value.imag]}
        if isinstance(value, datetime):
            return {TAG: "datetime", "v": value.isoformat()}
        if isinstance(value, tuple):
            return {TAG: "tuple", "v": [self.value(item) for item in value]}
        if isinstance(value, Mapping):
            pairs = [[self.value(key), self.value(item)] for key, item in value.items()]
            return {TAG: "dict", "v": pairs}
        if isinstance(value, (list, set, frozenset)):
            return [self.value(item) for item in value]
        return {TAG: "repr", "type": type(value).__qualname__, "v": repr(value)}

    def finish(self, header: dict[str, Any]) -> bytes:
        """Return the container of ``header`` and the blobs added."""
        text = json.dumps(header, separators=(",", ":")).encode("utf-8")
        lengths = [len(blob) for blob in self._blobs]
        table = struct.pack(f"<{len(lengths) + 1}Q", len(lengths), *lengths)
        return b"".join([self._magic, table, _LENGTH.pack(len(text)), text, *self._blobs])


class BlobReader:
    """Reads a container written by :class:`BlobWriter`.

    Attributes:
        header: The container's header, tagged values read back.
    """

    def __init__(self, data: bytes, magic: bytes, what: str) -> None:
        """Open ``data``.

        Raises:
            InvalidInputError: If ``data`` is not a container of this kind.
        """
        self._what = what
        view = memoryview(data)
        if bytes(view[: len(magic)]) != magic:
            raise InvalidInputError(f"these bytes are not {what}")
        self._blobs: list[memoryview] = []
        try:
            offset = len(magic)
            (count,) = _LENGTH.unpack_from(view, offset)
            lengths = struct.unpack_from(f"<{count}Q", view, offset + _LENGTH.size)
            offset += _LENGTH.size * (count + 1)
            (length,) = _LENGTH.unpack_from(view, offset)
            offset += _LENGTH.size
            text = bytes(view[offset : offset + length])
            offset += length
            for size in lengths:
                self._blobs.append(view[offset : offset + size])
                offset += size
            # Tagged values refer to blobs: the table is read first.
            self.header: dict[str, Any] = json.loads(text, object_hook=self._untag)
        except (ValueError, KeyError, TypeError, IndexError, struct.error) as err:
            raise self.error(err) from err
        if offset != len(view):
            raise InvalidInputError(f"these bytes are not {what}: their length is wrong")

    def error(self, err: BaseException) -> InvalidInputError:
        """Return the error that says the data is damaged, naming ``err``."""
        return InvalidInputError(f"these bytes are not {self._what}: {err}")

    def blob(self, index: int) -> bytes:
        """Return blob ``index``."""
        return bytes(self._blobs[index])

    def array(self, reference: dict[str, Any]) -> np.ndarray[Any, Any]:
        """Return the array :meth:`BlobWriter.array` gave ``reference`` for."""
        if "raw" in reference:
            dtype = np.dtype(reference["dtype"])
            if dtype.kind not in _RAW_KINDS:
                raise InvalidInputError(f"these bytes are not {self._what}: dtype {dtype}")
            raw = np.frombuffer(self._blobs[reference["raw"]], dtype=dtype)
            # A copy, so that the array owns writable memory, as a run's arrays do.
            copy: np.ndarray[Any, Any] = raw.reshape(reference["shape"]).copy()
            return copy
        array: np.ndarray[Any, Any] = np.load(
            io.BytesIO(self._blobs[reference["npy"]]), allow_pickle=False
        )
        return array

    def _untag(self, value: dict[str, Any]) -> Any:
        """Undo :meth:`BlobWriter.value` for one JSON object, as the header is parsed.

        The parser calls this innermost first, so tagged values inside are
        already read back.
        """
        tag = value.get(TAG)
        if tag is None:
            return value
        if tag == "ndarray":
            return self.array(value["array"])
        if tag == "objects":
            array = np.empty(len(value["v"]), dtype=object)
            array[:] = value["v"]
            return array.reshape(value["shape"])
        if tag == "complex":
            return complex(*value["v"])
        if tag == "datetime":
            return datetime.fromisoformat(value["v"])
        if tag == "tuple":
            return tuple(value["v"])
        if tag == "dict":
            return {_hashable(key): item for key, item in value["v"]}
        if tag == "repr":
            return value["v"]
        raise InvalidInputError(f"these bytes are not {self._what}: unknown tag {tag!r}")


def _hashable(key: Any) -> Any:
    """Return a dict key read back; a list (from a set) becomes a tuple."""
    return tuple(_hashable(item) for item in key) if isinstance(key, list) else key
