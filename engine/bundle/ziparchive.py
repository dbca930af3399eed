"""A strict reader and a deterministic writer for the flat ZIP files that carry bundles.

Why not `zipfile`: it accepts junk before and after the archive (so one file can be two things
to two programs), returns the last of two members with the same name, and the Python we ship
(3.11.7) predates the fix for overlapping-entry zip bombs. So `read_members` parses the bytes
itself and accepts only the narrow shape `write_members` produces: every byte of the file belongs
to exactly one record, in order, with nothing left over. That also settles "exactly one end
record": it must be the last 22 bytes, and everything before it is accounted for by the members
and the central directory, so four look-alike bytes inside member data are just data.

Extra fields, comments, ZIP64, data descriptors and encryption are refused outright rather than
interpreted: we only read bundles written by `write_members`, which uses none of them, and every
feature we do not interpret is one an attacker cannot use to make us see something else.

Every refusal is `BundleRejected("damaged", code, detail)`; the detail names the member, if any:

- E_BUNDLE_TOO_LARGE            the file is bigger than `max_file_size`.
- E_ZIP_NOT_A_ZIP               empty, or not a ZIP archive at all (no end record, no ZIP start).
- E_ZIP_TRUNCATED               starts like a ZIP archive but ends early.
- E_ZIP_TRAILING_DATA           bytes after the end record.
- E_ZIP_LEADING_DATA            bytes before the first member.
- E_ZIP_COMMENT                 an archive or member comment.
- E_ZIP_ZIP64                   ZIP64 records or markers.
- E_ZIP_MULTI_DISK              a split (multi-disk) archive.
- E_ZIP_BAD_DIRECTORY           central directory inconsistent with the end record (place, size,
                                entry count) or not made of entries.
- E_ZIP_HEADER_MISMATCH         a member's local header disagrees with its directory entry.
- E_ZIP_OVERLAP                 members overlap, are out of order, or leave unexplained gaps.
- E_ZIP_BAD_NAME                name not UTF-8 or not `[a-z0-9][a-z0-9_.-]*` (so no folders,
                                absolute paths, drive letters, '..', upper case, hidden files).
- E_ZIP_DUPLICATE_NAME          two members with the same name.
- E_ZIP_TOO_MANY_MEMBERS        more than `max_members` entries.
- E_ZIP_ENCRYPTED               an encrypted member.
- E_ZIP_UNSUPPORTED_FLAGS       data descriptor or other flag bits that change how data is read.
- E_ZIP_UNSUPPORTED_COMPRESSION a method other than stored (0) or deflate (8).
- E_ZIP_SPECIAL_MEMBER          a symbolic link, directory or other non-regular file.
- E_ZIP_EXTRA_FIELD             an extra field in a local header or directory entry.
- E_ZIP_BOMB                    declared sizes or compression ratio over the limits.
- E_ZIP_CORRUPT                 data that does not inflate to exactly the declared size.
- E_ZIP_CRC                     data whose CRC-32 differs from the declared one.
"""

from __future__ import annotations

import stat
import zlib
from dataclasses import dataclass
from typing import NoReturn

from engine.bundle import zipformat as fmt
from engine.bundle.zipformat import CentralEntry, EndRecord, LocalHeader, name_problem
from engine.errors import BundleRejected


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Bounds checked before any decompression. `ratio_floor`: a member declaring at most this
    many bytes is exempt from `max_ratio` (a small all-zero array may legitimately compress
    1000x, and costs nothing; a bomb needs size)."""

    max_file_size: int
    max_members: int
    max_member_size: int
    max_total_uncompressed: int
    max_ratio: float
    ratio_floor: int = 2**20


# A 100-tree depth-10 forest is ~10 MB of JSON and compresses ~10x: these leave ample room.
LIMITS = ZipLimits(max_file_size=256 * 2**20, max_members=16, max_member_size=128 * 2**20,
                   max_total_uncompressed=256 * 2**20, max_ratio=200.0)


@dataclass(frozen=True, slots=True)
class _Member:
    name: str
    entry: CentralEntry
    data_start: int  # offset of the member's (compressed) data in the file


def _reject(code: str, detail: str) -> NoReturn:
    raise BundleRejected("damaged", code, detail)


def read_members(data: bytes, limits: ZipLimits = LIMITS) -> dict[str, bytes]:
    """Parse `data` (the whole file, read once by the caller) and return {name: uncompressed
    bytes} in archive order, or raise BundleRejected("damaged", CODE, detail).

    Order: structure of the whole file, then declared sizes, and only then decompression, so a
    malformed or hostile file costs no more than reading its headers."""
    if len(data) > limits.max_file_size:
        _reject("E_BUNDLE_TOO_LARGE", f"the file is {len(data)} bytes, over the limit of "
                f"{limits.max_file_size} bytes")
    end_pos, end = _find_end(data)
    _check_end(data, end_pos, end, limits)
    members = _check_locals(data, _read_directory(data, end_pos, end), end.directory_offset)
    _check_sizes(members, limits)
    return {m.name: _inflate(data, m) for m in members}


def _find_end(data: bytes) -> tuple[int, EndRecord]:
    """The end record must be the last 22 bytes; if it is not, scan backward to say why."""
    if not data:
        _reject("E_ZIP_NOT_A_ZIP", "the file is empty")
    pos = len(data) - fmt.END.size
    if pos < 0 or data[pos:pos + 4] != fmt.END_SIG:  # else the last whole one, scanning back
        pos = data.rfind(fmt.END_SIG, 0, len(data) - fmt.END.size + 4)
    if pos < 0:
        if data.rfind(fmt.END_SIG) >= 0:
            _reject("E_ZIP_TRUNCATED", "the file ends inside the archive's end record")
        if data[:4] == fmt.LOCAL_SIG[:len(data[:4])]:
            _reject("E_ZIP_TRUNCATED", "the file starts like a ZIP archive but ends before its "
                    "central directory; it was probably cut short while copying")
        _reject("E_ZIP_NOT_A_ZIP", "the file is not a ZIP archive")
    end = EndRecord.unpack_from(data, pos)
    trailing = len(data) - pos - fmt.END.size
    if end.comment_len and trailing == end.comment_len:
        _reject("E_ZIP_COMMENT", f"the archive has a {trailing}-byte comment; bundles have none")
    if trailing:
        _reject("E_ZIP_TRAILING_DATA", f"{trailing} bytes follow the end of the archive")
    if end.comment_len:
        _reject("E_ZIP_COMMENT", "the end record declares a comment that is not there")
    return pos, end


def _check_end(data: bytes, end_pos: int, end: EndRecord, limits: ZipLimits) -> None:
    counts = (end.disk, end.directory_disk, end.disk_entries, end.total_entries)
    if fmt.U16_MAX in counts or fmt.U32_MAX in (end.directory_size, end.directory_offset) or (
            data[max(end_pos - 20, 0):end_pos].startswith(fmt.ZIP64_LOCATOR_SIG)):
        _reject("E_ZIP_ZIP64", "the archive uses ZIP64 records; bundles never need them")
    if end.disk or end.directory_disk or end.disk_entries != end.total_entries:
        _reject("E_ZIP_MULTI_DISK", "the archive claims to be split over several disks")
    if end.total_entries > limits.max_members:
        _reject("E_ZIP_TOO_MANY_MEMBERS", f"the archive has {end.total_entries} members, over "
                f"the limit of {limits.max_members}")
    if (data[:4] != fmt.LOCAL_SIG) if end.total_entries else end_pos:
        _reject("E_ZIP_LEADING_DATA", "the file does not start with the archive's first member; "
                "something was put in front of it")
    directory_start = end_pos - end.directory_size
    if end.directory_offset != directory_start:
        if directory_start >= 0 and data[directory_start:directory_start + 4] == fmt.CENTRAL_SIG:
            _reject("E_ZIP_LEADING_DATA", f"{directory_start - end.directory_offset} bytes "
                    "were put in front of the archive")
        _reject("E_ZIP_BAD_DIRECTORY", "the central directory does not end where the end "
                "record begins")


def _read_directory(data: bytes, end_pos: int, end: EndRecord) -> list[tuple[str, CentralEntry]]:
    entries: list[tuple[str, CentralEntry]] = []
    names: set[str] = set()
    offset = end.directory_offset
    for index in range(1, end.total_entries + 1):
        if offset + fmt.CENTRAL.size > end_pos or data[offset:offset + 4] != fmt.CENTRAL_SIG:
            _reject("E_ZIP_BAD_DIRECTORY", f"the central directory has no entry {index} of "
                    f"the {end.total_entries} its end record announces")
        entry = CentralEntry.unpack_from(data, offset)
        name_start = offset + fmt.CENTRAL.size
        offset = name_start + entry.name_len + entry.extra_len + entry.comment_len
        if offset > end_pos:
            _reject("E_ZIP_BAD_DIRECTORY", f"entry {index} runs past the central directory")
        name = _check_name(data[name_start:name_start + entry.name_len])
        if name in names:
            _reject("E_ZIP_DUPLICATE_NAME", f"two members are named {name!r}")
        names.add(name)
        _check_entry(name, entry)
        entries.append((name, entry))
    if offset != end_pos:
        _reject("E_ZIP_BAD_DIRECTORY", f"the central directory holds more than the "
                f"{end.total_entries} entries its end record announces")
    return entries


def _check_name(raw: bytes) -> str:
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        _reject("E_ZIP_BAD_NAME", f"member name {raw!r} is not valid UTF-8")
    problem = name_problem(name)
    if problem:
        _reject("E_ZIP_BAD_NAME", f"member name {name!r} {problem}")
    return name


def _check_entry(name: str, e: CentralEntry) -> None:
    if e.flags & fmt.ENCRYPTION_FLAGS or e.method == fmt.AES_ENCRYPTED:
        _reject("E_ZIP_ENCRYPTED", f"member {name!r} is encrypted")
    if e.flags & fmt.FLAG_DATA_DESCRIPTOR:
        _reject("E_ZIP_UNSUPPORTED_FLAGS", f"member {name!r} puts its sizes after its data "
                "(data descriptor)")
    if e.flags & ~fmt.ALLOWED_FLAGS:
        _reject("E_ZIP_UNSUPPORTED_FLAGS", f"member {name!r} has unsupported flags "
                f"0x{e.flags:04x}")
    if e.method not in (fmt.STORED, fmt.DEFLATED):
        label = fmt.METHOD_NAMES.get(e.method, "unknown")
        _reject("E_ZIP_UNSUPPORTED_COMPRESSION", f"member {name!r} uses compression method "
                f"{e.method} ({label}); only stored (0) and deflate (8) are allowed")
    if fmt.U32_MAX in (e.csize, e.usize, e.local_offset) or e.disk_start == fmt.U16_MAX:
        _reject("E_ZIP_ZIP64", f"member {name!r} uses ZIP64 sizes")
    if e.disk_start:
        _reject("E_ZIP_MULTI_DISK", f"member {name!r} claims to be on disk {e.disk_start}")
    if e.extra_len:
        _reject("E_ZIP_EXTRA_FIELD", f"member {name!r} has an extra field in the directory")
    if e.comment_len:
        _reject("E_ZIP_COMMENT", f"member {name!r} has a comment")
    kind = stat.S_IFMT(e.external_attrs >> 16)
    if kind == stat.S_IFLNK:
        _reject("E_ZIP_SPECIAL_MEMBER", f"member {name!r} is a symbolic link")
    if kind == stat.S_IFDIR or e.external_attrs & fmt.MSDOS_DIRECTORY:
        _reject("E_ZIP_SPECIAL_MEMBER", f"member {name!r} is a directory")
    if kind not in (0, stat.S_IFREG):
        _reject("E_ZIP_SPECIAL_MEMBER", f"member {name!r} is a device, pipe or socket")
    if e.method == fmt.STORED and e.csize != e.usize:
        _reject("E_ZIP_CORRUPT", f"stored member {name!r} declares {e.usize} bytes but holds "
                f"{e.csize}")


def _check_locals(data: bytes, entries: list[tuple[str, CentralEntry]],
                  directory_offset: int) -> list[_Member]:
    """Each member starts where the previous one ended, the first at 0, the last ending where
    the directory starts: no overlap (the zip-bomb trick), no gap, no hidden data."""
    members: list[_Member] = []
    expected = 0
    for name, e in entries:
        if e.local_offset != expected:
            where = "inside the previous member" if e.local_offset < expected else \
                f"{e.local_offset - expected} bytes after the previous member ended"
            _reject("E_ZIP_OVERLAP", f"member {name!r} starts {where}")
        if e.local_offset + fmt.LOCAL.size > directory_offset:
            _reject("E_ZIP_OVERLAP", f"member {name!r} runs into the central directory")
        local = LocalHeader.unpack_from(data, e.local_offset)
        name_start = e.local_offset + fmt.LOCAL.size
        if local.signature != fmt.LOCAL_SIG:
            _reject("E_ZIP_HEADER_MISMATCH", f"member {name!r} has no local header where the "
                    "directory says it starts")
        if local.extra_len:
            _reject("E_ZIP_EXTRA_FIELD", f"member {name!r} has an extra field in its header")
        differ = [field for field in ("flags", "method", "crc", "csize", "usize", "name_len")
                  if getattr(local, field) != getattr(e, field)]
        if data[name_start:name_start + local.name_len] != name.encode("utf-8"):
            differ.append("name")
        if differ:
            _reject("E_ZIP_HEADER_MISMATCH", f"member {name!r}: its local header and the "
                    f"directory disagree on {', '.join(differ)}")
        start = name_start + local.name_len
        expected = start + e.csize
        if expected > directory_offset:
            _reject("E_ZIP_OVERLAP", f"member {name!r} runs into the central directory")
        members.append(_Member(name, e, start))
    if expected != directory_offset:
        _reject("E_ZIP_OVERLAP", f"{directory_offset - expected} bytes before the central "
                "directory belong to no member")
    return members


def _check_sizes(members: list[_Member], limits: ZipLimits) -> None:
    total = 0
    for m in members:
        size, packed = m.entry.usize, m.entry.csize
        if size > limits.max_member_size:
            _reject("E_ZIP_BOMB", f"member {m.name!r} declares {size} bytes, over the limit "
                    f"of {limits.max_member_size}")
        total += size
        if total > limits.max_total_uncompressed:
            _reject("E_ZIP_BOMB", f"the members declare more than {total} bytes in all "
                    f"(at {m.name!r}), over the limit of {limits.max_total_uncompressed}")
        if size > limits.ratio_floor and size > limits.max_ratio * packed:
            _reject("E_ZIP_BOMB", f"member {m.name!r} expands {size} bytes from {packed}, "
                    f"more than {limits.max_ratio:g} times")


def _inflate(data: bytes, m: _Member) -> bytes:
    """The member's bytes, never allocating more than its declared size + 1."""
    e = m.entry
    packed = memoryview(data)[m.data_start:m.data_start + e.csize]
    if e.method == fmt.STORED:
        content = bytes(packed)
    else:
        inflater = zlib.decompressobj(-15)
        try:
            content = inflater.decompress(packed, e.usize + 1)
        except zlib.error as exc:
            _reject("E_ZIP_CORRUPT", f"member {m.name!r} is not valid deflate data ({exc})")
        if len(content) > e.usize:
            _reject("E_ZIP_CORRUPT", f"member {m.name!r} inflates to more than its declared "
                    f"{e.usize} bytes")
        if not inflater.eof:
            _reject("E_ZIP_CORRUPT", f"member {m.name!r}'s compressed data ends early")
        if len(content) < e.usize:
            _reject("E_ZIP_CORRUPT", f"member {m.name!r} inflates to {len(content)} bytes, "
                    f"not the declared {e.usize}")
        if inflater.unused_data:
            _reject("E_ZIP_CORRUPT", f"member {m.name!r} has {len(inflater.unused_data)} "
                    "stray bytes after its compressed data")
    if zlib.crc32(content) != e.crc:
        _reject("E_ZIP_CRC", f"member {m.name!r} does not match its checksum")
    return content


def write_members(members: list[tuple[str, bytes]], deflate: bool = True) -> bytes:
    """A deterministic archive (same input -> same bytes, for a given zlib build): deflate
    level 9 unless stored is smaller (always stored with deflate=False, which bundles use),
    fixed DOS time 1980-01-01 00:00, no extra fields, no data descriptors, no comments, Unix
    regular-file attributes 0o100644. Readable by both
    `read_members` and Python's `zipfile`. Raises ValueError for a name `read_members` would
    refuse, a duplicate, or sizes that would need ZIP64."""
    body, directory = bytearray(), bytearray()
    names: set[str] = set()
    for name, content in members:
        problem = name_problem(name)
        if problem or name in names:
            raise ValueError(f"cannot write member {name!r}: {problem or 'a duplicate name'}")
        names.add(name)
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed, method = compressor.compress(content) + compressor.flush(), fmt.DEFLATED
        if not deflate or len(content) < len(packed):
            packed, method = bytes(content), fmt.STORED
        raw_name, offset = name.encode("utf-8"), len(body)
        if max(len(content), offset + fmt.LOCAL.size + len(raw_name) + len(packed)) >= fmt.U32_MAX:
            raise ValueError(f"member {name!r} would need ZIP64; bundles stay under 4 GiB")
        local = fmt.regular_local_header(method, zlib.crc32(content), len(packed), len(content),
                                         len(raw_name))
        directory += fmt.central_entry_for(local, offset).pack() + raw_name
        body += local.pack() + raw_name + packed
    if len(members) >= fmt.U16_MAX or len(body) + len(directory) >= fmt.U32_MAX:
        raise ValueError("too many or too large members for a ZIP without ZIP64")
    end = fmt.end_record_for(len(members), len(directory), len(body))
    return bytes(body + directory + end.pack())
