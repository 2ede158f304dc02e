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
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

CODE_BYTES = np.zeros(256, dtype=np.int8)  # one-byte fields "1".."5" -> 1..5
CODE_BYTES[ord("1"):ord("5") + 1] = np.arange(1, 6)
# bytes that can start a field float() reads as a number; any other field is missing
NUMBER_START = np.zeros(256, dtype=bool)
NUMBER_START[np.frombuffer(b"0123456789+-. \t\x0b\x0c", dtype=np.uint8)] = True


ROW_CHUNK = 1 << 15  # rows per block when cutting fields
BYTE_CHUNK = 1 << 20  # bytes per block when finding delimiters


class CsvError(ValueError):
    """A CSV file that cannot be read as a respondent table."""


@dataclass(frozen=True, slots=True)
class Table:
    """Columns of a CSV file, parsed lazily."""

    header: tuple[str, ...]
    n_rows: int
    _data: NDArray[np.uint8] | None  # the body's bytes (a view of the file's)
    _delims: NDArray[np.integer] | None  # positions of every comma and newline
    _rows: list[list[str]] | None
    path: str
    _codes: dict[str, tuple[NDArray[np.int64], NDArray[np.str_]]] = field(
        default_factory=dict, compare=False, repr=False)

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

    def _bounds(self, k: int) -> tuple[NDArray[np.integer], NDArray[np.integer]]:
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

    def rating_codes(self, name: str) -> NDArray[np.int8]:
        """A rating column as int8 codes: 1..5, 0 for anything else (text, blank)."""
        return self.rating_matrix([name])[:, 0]

    def rating_matrix(self, names: Sequence[str]) -> NDArray[np.int8]:
        """Rating columns as an (n, J) column-major int8 array of codes 1..5, 0 for
        anything else (text, blank).

        Works through the field table in blocks of rows (sequential memory):
        one-byte fields are looked up; only the rare longer fields that can be
        numbers ("4.0", " 4") are parsed, once per distinct value.
        """
        ks = [self._col(nm) for nm in names]
        out = np.empty((self.n_rows, len(ks)), dtype=np.int8, order="F")
        if self._rows is not None or self._delims is None or self._data is None:
            for j, nm in enumerate(names):
                out[:, j] = _parsed_codes(self._raw(nm))
            return out
        buf = self._data
        ncol = len(self.header)
        ends = self._delims.reshape(self.n_rows, ncol)
        cand_start, cand_end, cand_cell = [], [], []
        for lo in range(0, self.n_rows, ROW_CHUNK):
            e = ends[lo:lo + ROW_CHUNK]
            st = np.empty_like(e)
            st[:, 1:] = e[:, :-1] + 1
            st[:, 0] = np.concatenate(([0] if lo == 0 else [ends[lo - 1, -1] + 1],
                                       e[:-1, -1] + 1))
            end = e[:, ks]
            start = st[:, ks]
            length = end - start
            first = buf[start]  # start <= end, the field's delimiter: inside the buffer
            out[lo:lo + e.shape[0]] = np.where(length == 1, CODE_BYTES[first], np.int8(0))
            cand = np.flatnonzero((length > 1) & NUMBER_START[first])
            if cand.size:
                cand_start.append(start.reshape(-1)[cand])
                cand_end.append(end.reshape(-1)[cand])
                cand_cell.append(cand + lo * len(ks))
        if cand_cell:
            cell = np.concatenate(cand_cell)
            codes = _parsed_codes(_cut(buf, np.concatenate(cand_start),
                                       np.concatenate(cand_end)))
            out[cell // len(ks), cell % len(ks)] = codes
        return out

    def ratings(self, name: str) -> NDArray[np.float64]:
        """A rating column: 1..5 as float, anything else (text, blank) NaN."""
        codes = self.rating_codes(name)
        return np.where(codes > 0, codes, np.nan)

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
        hit = self._codes.get(name)
        if hit is None:
            hit = self._codes[name] = self._make_codes(name)
        return hit

    def _make_codes(self, name: str) -> tuple[NDArray[np.int64], NDArray[np.str_]]:
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


def _cut(buf: NDArray[np.uint8], start: NDArray[np.integer],
         end: NDArray[np.integer]) -> NDArray[np.bytes_]:
    """Fields ``buf[start:end]`` as a fixed-width byte-string array."""
    length = end - start
    width = max(int(length.max(initial=0)), 1)
    last = buf.shape[0] - 1
    cells = np.zeros((start.shape[0], width), dtype=np.uint8)
    offsets = np.arange(width)
    for lo in range(0, start.shape[0], ROW_CHUNK):  # a block of rows at a time
        s = start[lo:lo + ROW_CHUNK, None]
        inside = offsets[None, :] < length[lo:lo + ROW_CHUNK, None]
        cells[lo:lo + ROW_CHUNK] = np.where(inside, buf[np.minimum(s + offsets, last)], 0)
    return cells.view(f"S{width}").reshape(-1)


def _parsed_codes(raw: NDArray[np.bytes_]) -> NDArray[np.int8]:
    """Rating codes of text fields, parsing each distinct value once."""
    uniq, inv = np.unique(raw, return_inverse=True)
    codes = np.zeros(uniq.shape[0], dtype=np.int8)
    for k, u in enumerate(uniq.tolist()):
        v = _float_or_nan(u)
        if v in (1.0, 2.0, 3.0, 4.0, 5.0):
            codes[k] = int(v)
    return codes[inv.reshape(-1)]


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
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if b"\r" in data:
        data = data[start:].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        start = 0
    end = len(data)  # the body ends before any trailing blank lines
    while end > start and data[end - 1] == 10:
        end -= 1
    head_end = data.find(b"\n", start, end)
    if head_end < 0:
        head_end = end
    try:
        header_text = data[start:head_end].decode("utf-8")
    except UnicodeDecodeError:
        raise CsvError(f"{path}: not UTF-8 text") from None
    header = tuple(next(csv.reader([header_text])))
    if not header or header == ("",):
        raise CsvError(f"{path}: empty file")
    if len(set(header)) != len(header):
        raise CsvError(f"{path}: duplicate column names in the header")
    if data.find(b'"', head_end, end) >= 0:
        return _read_with_csv(path, header, data[head_end + 1:end] + b"\n")
    ncol = len(header)
    if head_end >= end:
        buf = np.zeros(0, dtype=np.uint8)
    elif end < len(data):  # a view of the file's bytes, up to the last newline
        buf = np.frombuffer(data, dtype=np.uint8, count=end - head_end, offset=head_end + 1)
    else:
        buf = np.frombuffer(data[head_end + 1:] + b"\n", dtype=np.uint8)
    delims, n_rows = _delimiters(buf)
    if delims.shape[0] != n_rows * ncol or not np.all(buf[delims[ncol - 1::ncol]] == 10):
        newlines = buf[delims] == 10
        line_of = np.cumsum(newlines) - newlines
        fields = np.bincount(line_of, minlength=n_rows)
        bad = int(np.flatnonzero(fields != ncol)[0]) if np.any(fields != ncol) else 0
        raise CsvError(f"{path}, line {bad + 2}: {int(fields[bad])} fields; "
                       f"the header has {ncol}")
    return Table(header=header, n_rows=n_rows, _data=buf, _delims=delims,
                 _rows=None, path=path)


def _delimiters(buf: NDArray[np.uint8]) -> tuple[NDArray[np.integer], int]:
    """Positions of every comma and newline, found in cache-sized chunks (int32
    positions when the file is under 2 GiB), and the number of newlines."""
    dtype = np.int32 if buf.shape[0] < 2**31 else np.int64
    parts = []
    lines = 0
    for lo in range(0, buf.shape[0], BYTE_CHUNK):
        chunk = buf[lo:lo + BYTE_CHUNK]
        newline = chunk == 10
        lines += int(np.count_nonzero(newline))
        hits = np.flatnonzero(newline | (chunk == 44)).astype(dtype)
        hits += lo
        parts.append(hits)
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)), lines


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
