"""Fast reading of respondent CSV files into numpy columns.

The common case — UTF-8, comma-separated, no quoted fields — is parsed with
numpy on the raw bytes: the positions of every comma and newline give a
(rows × columns) table of field boundaries, and each requested column is cut
out as a fixed-width byte array.  Files with quotes go through :mod:`csv`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

VALID_BYTES = np.full(256, np.nan)
VALID_BYTES[ord("1"):ord("5") + 1] = np.arange(1.0, 6.0)


class CsvError(ValueError):
    """A CSV file that cannot be read as a respondent table."""


@dataclass(frozen=True, slots=True)
class Table:
    """Columns of a CSV file, parsed lazily."""

    header: tuple[str, ...]
    n_rows: int
    _data: bytes | None
    _delims: NDArray[np.int64] | None  # positions of every comma and newline
    _rows: list[list[str]] | None
    path: str

    def _col(self, name: str) -> int:
        try:
            return self.header.index(name)
        except ValueError:
            raise CsvError(f"{self.path}: no column {name!r} "
                           f"(columns: {', '.join(self.header)})") from None

    def _raw(self, name: str) -> NDArray[np.bytes_]:
        k = self._col(name)
        if self._rows is not None:
            return np.array([r[k].encode("utf-8") for r in self._rows], dtype=np.bytes_)
        if self._data is None:
            raise CsvError(f"{self.path}: table has no parsed data")
        return _cut(self._data, *self._bounds(k))

    def _bounds(self, k: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Start and end byte offsets of column ``k`` in every row."""
        if self._delims is None:
            raise CsvError(f"{self.path}: table has no parsed data")
        ncol = len(self.header)
        end = self._delims[k::ncol]
        if k > 0:
            start = self._delims[k - 1::ncol] + 1
        else:
            start = np.empty_like(end)
            start[:1] = 0
            start[1:] = self._delims[ncol - 1::ncol][:-1] + 1
        return start, end

    def ratings(self, name: str) -> NDArray[np.float64]:
        """A rating column: 1..5 as float, anything else (text, blank) NaN."""
        if self._rows is None and self._delims is not None:
            k = self._col(name)
            start, end = self._bounds(k)
            buf = np.frombuffer(self._data or b"", dtype=np.uint8)
            out = VALID_BYTES[buf[start]] if buf.shape[0] else np.full(start.shape[0], np.nan)
            other = (end - start) != 1
            out[other] = np.nan
            rows = np.flatnonzero(other & (end > start))
            if rows.size and self._data is not None:
                text = _cut(self._data, start[rows], end[rows])
                uniq, inv = np.unique(text, return_inverse=True)
                vals = np.array([_float_or_nan(u) for u in uniq])
                out[rows] = vals[inv.reshape(-1)]
            return out
        raw = self._raw(name)
        out = np.full(raw.shape[0], np.nan)
        lengths = np.char.str_len(raw)
        one = lengths == 1
        first = raw.view(np.uint8).reshape(raw.shape[0], -1)[:, 0]
        out[one] = VALID_BYTES[first[one]]
        other = ~one & (lengths > 0)
        if other.any():
            uniq, inv = np.unique(raw[other], return_inverse=True)
            vals = np.array([_float_or_nan(u) for u in uniq])
            out[other] = vals[inv.reshape(-1)]
        return out

    def numbers(self, name: str) -> NDArray[np.float64]:
        """A numeric column; a non-number is an error naming the line."""
        raw = self._raw(name)
        try:
            return raw.astype(np.float64)
        except ValueError:
            for i, v in enumerate(raw):
                if np.isnan(_float_or_nan(v)):
                    raise CsvError(f"{self.path}, line {i + 2}: column {name!r} has "
                                   f"{v.decode('utf-8', 'replace')!r}, not a number") from None
            raise

    def labels(self, name: str) -> NDArray[np.str_]:
        """A column as text labels."""
        raw = self._raw(name)
        uniq, inv = np.unique(raw, return_inverse=True)
        text = np.array([u.decode("utf-8", "replace") for u in uniq])
        return text[inv.reshape(-1)] if text.size else text

    def codes(self, name: str) -> tuple[NDArray[np.int64], NDArray[np.str_]]:
        """Integer codes and text labels of a column (one sort, no text per row)."""
        raw = self._raw(name)
        width = raw.dtype.itemsize
        if width <= 8:
            padded = np.zeros((raw.shape[0], 8), dtype=np.uint8)
            padded[:, :width] = raw.view(np.uint8).reshape(raw.shape[0], width)
            keys = padded.view(">u8").reshape(-1)
            uniq, inv = np.unique(keys, return_inverse=True)
            labels = np.array([int(u).to_bytes(8, "big").rstrip(b"\0").decode("utf-8", "replace")
                               for u in uniq])
        else:
            uq, inv = np.unique(raw, return_inverse=True)
            labels = np.array([u.decode("utf-8", "replace") for u in uq])
        return inv.reshape(-1).astype(np.int64), labels


def _cut(data: bytes, start: NDArray[np.int64], end: NDArray[np.int64]) -> NDArray[np.bytes_]:
    """Fields ``data[start:end]`` as a fixed-width byte-string array."""
    length = end - start
    width = max(int(length.max(initial=0)), 1)
    buf = np.frombuffer(data, dtype=np.uint8)
    last = buf.shape[0] - 1
    cells = np.zeros((start.shape[0], width), dtype=np.uint8)
    for b in range(width):  # one gather per byte position, not per row
        cells[:, b] = np.where(b < length, buf[np.minimum(start + b, last)], 0)
    return cells.view(f"S{width}").reshape(-1)


def _float_or_nan(value: bytes) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


def read_table(path: str) -> Table:
    """Read a UTF-8 CSV file with a header row."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise CsvError(f"cannot read {path}: {exc.strerror or exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    data = data.rstrip(b"\n") + b"\n"
    head_end = data.find(b"\n")
    try:
        header_text = data[:head_end].decode("utf-8")
    except UnicodeDecodeError:
        raise CsvError(f"{path}: not UTF-8 text") from None
    header = tuple(next(csv.reader([header_text])))
    if not header or header == ("",):
        raise CsvError(f"{path}: empty file")
    if len(set(header)) != len(header):
        raise CsvError(f"{path}: duplicate column names in the header")
    body = data[head_end + 1:]
    if b'"' in body:
        return _read_with_csv(path, header, body)
    ncol = len(header)
    buf = np.frombuffer(body, dtype=np.uint8)
    is_newline = buf == 10
    n_rows = int(np.count_nonzero(is_newline))
    delims = np.flatnonzero(is_newline | (buf == 44))
    del is_newline
    if delims.shape[0] != n_rows * ncol or not np.all(buf[delims[ncol - 1::ncol]] == 10):
        newlines = buf[delims] == 10
        line_of = np.cumsum(newlines) - newlines
        fields = np.bincount(line_of, minlength=n_rows)
        bad = int(np.flatnonzero(fields != ncol)[0]) if np.any(fields != ncol) else 0
        raise CsvError(f"{path}, line {bad + 2}: {int(fields[bad])} fields; "
                       f"the header has {ncol}")
    return Table(header=header, n_rows=n_rows, _data=body, _delims=delims,
                 _rows=None, path=path)


def _read_with_csv(path: str, header: Sequence[str], body: bytes) -> Table:
    try:
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CsvError(f"{path}: {exc}") from None
    for i, r in enumerate(rows):
        if len(r) != len(header):
            raise CsvError(f"{path}, line {i + 2}: {len(r)} fields; the header has {len(header)}")
    return Table(header=tuple(header), n_rows=len(rows), _data=None, _delims=None,
                 _rows=rows, path=path)


def read_records(path: str, required: Sequence[str]) -> list[dict[str, str]]:
    """Small CSV files (elements, margins) as dictionaries."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            fields = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CsvError(f"cannot read {path}: {exc}") from None
    missing = [c for c in required if c not in fields]
    if missing:
        raise CsvError(f"{path}: no column {missing[0]!r} (need {', '.join(required)})")
    return rows
