"""Byte layouts of the three ZIP records a bundle uses (PKWARE APPNOTE 6.3, sections 4.3.7,
4.3.12 and 4.3.16), the constant field values our writer puts in them, and the rule for member
names.

Kept apart from the reader's checks so that every field is read and written in one place, by
name: the writer packs exactly the records the reader unpacks, and refuses the names it refuses.
"""

from __future__ import annotations

import re
import stat
import struct
from dataclasses import astuple, dataclass

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"
END_SIG = b"PK\x05\x06"
ZIP64_LOCATOR_SIG = b"PK\x06\x07"

STORED = 0
DEFLATED = 8
AES_ENCRYPTED = 99  # WinZip AES: the real method is in an extra field
# Names for the methods people actually meet, so a refusal can say what the file used.
METHOD_NAMES = {1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "lzma",
                93: "zstandard", 95: "xz", 98: "ppmd", 99: "AES encryption"}

FLAG_ENCRYPTED = 0x0001
FLAG_DATA_DESCRIPTOR = 0x0008
FLAG_STRONG_ENCRYPTION = 0x0040
FLAG_MASKED_HEADERS = 0x2000  # central directory encryption
ENCRYPTION_FLAGS = FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS
# Bits 1-2 only record the deflate level used; bit 11 says the name is UTF-8. Nothing else is
# allowed: the other bits change how the data must be read (patched data, descriptors, ...).
ALLOWED_FLAGS = 0x0002 | 0x0004 | 0x0800

VERSION_NEEDED = 20                  # 2.0: deflate
MADE_BY_UNIX = (3 << 8) | 20         # host 3 (Unix) in the high byte, so attrs are a st_mode
DOS_TIME = 0                         # 00:00:00
DOS_DATE = (0 << 9) | (1 << 5) | 1   # 1980-01-01, the earliest DOS date: nothing to vary
REGULAR_FILE_ATTRS = (stat.S_IFREG | 0o644) << 16
MSDOS_DIRECTORY = 0x10

U16_MAX = 0xFFFF       # in a 16-bit count, and
U32_MAX = 0xFFFFFFFF   # in a 32-bit size or offset: "the real value is in a ZIP64 record"

# Flat, lower-case, portable: no folders, absolute paths, drive letters, '..' or hidden files,
# and a name means the same file on every file system (case-insensitive ones included).
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]*")
MAX_NAME_LENGTH = 255  # the usual file-name limit: members may be written out under their name

LOCAL = struct.Struct("<4sHHHHHIIIHH")
CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
END = struct.Struct("<4sHHHHIIH")


@dataclass(frozen=True, slots=True)
class LocalHeader:
    """The 30 fixed bytes before each member's name and data."""

    signature: bytes
    version_needed: int
    flags: int
    method: int
    mtime: int
    mdate: int
    crc: int
    csize: int
    usize: int
    name_len: int
    extra_len: int

    @classmethod
    def unpack_from(cls, data: bytes, offset: int) -> LocalHeader:
        return cls(*LOCAL.unpack_from(data, offset))

    def pack(self) -> bytes:
        return LOCAL.pack(*astuple(self))


@dataclass(frozen=True, slots=True)
class CentralEntry:
    """The 46 fixed bytes of a central directory entry (name, extra and comment follow)."""

    signature: bytes
    made_by: int
    version_needed: int
    flags: int
    method: int
    mtime: int
    mdate: int
    crc: int
    csize: int
    usize: int
    name_len: int
    extra_len: int
    comment_len: int
    disk_start: int
    internal_attrs: int
    external_attrs: int
    local_offset: int

    @classmethod
    def unpack_from(cls, data: bytes, offset: int) -> CentralEntry:
        return cls(*CENTRAL.unpack_from(data, offset))

    def pack(self) -> bytes:
        return CENTRAL.pack(*astuple(self))


@dataclass(frozen=True, slots=True)
class EndRecord:
    """The 22-byte end-of-central-directory record (a comment of comment_len bytes follows)."""

    signature: bytes
    disk: int
    directory_disk: int
    disk_entries: int
    total_entries: int
    directory_size: int
    directory_offset: int
    comment_len: int

    @classmethod
    def unpack_from(cls, data: bytes, offset: int) -> EndRecord:
        return cls(*END.unpack_from(data, offset))

    def pack(self) -> bytes:
        return END.pack(*astuple(self))


def regular_local_header(method: int, crc: int, csize: int, usize: int,
                         name_len: int) -> LocalHeader:
    """The local header our writer uses: no flags, a fixed time, no extra field."""
    return LocalHeader(LOCAL_SIG, VERSION_NEEDED, 0, method, DOS_TIME, DOS_DATE, crc, csize,
                       usize, name_len, 0)


def central_entry_for(local: LocalHeader, offset: int) -> CentralEntry:
    """The directory entry matching `local`: made on Unix, a regular 0o644 file, no extra field
    or comment, on disk 0."""
    return CentralEntry(CENTRAL_SIG, MADE_BY_UNIX, local.version_needed, local.flags,
                        local.method, local.mtime, local.mdate, local.crc, local.csize,
                        local.usize, local.name_len, 0, 0, 0, 0, REGULAR_FILE_ATTRS, offset)


def end_record_for(count: int, directory_size: int, directory_offset: int) -> EndRecord:
    """A single-disk end record without a comment."""
    return EndRecord(END_SIG, 0, 0, count, count, directory_size, directory_offset, 0)


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a bundle member, in plain words, or None if it can."""
    if NAME_PATTERN.fullmatch(name) and len(name) <= MAX_NAME_LENGTH:
        return None
    if not name:
        return "is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if "/" in name or "\\" in name:
        return "contains a folder separator; members sit at the top level (no folders, " \
            "absolute paths or '..')"
    if ":" in name:
        return "contains ':' (a drive letter or alternate stream)"
    if name[0] in "._-":
        return "starts with '.', '_' or '-' (hidden or option-like names are not allowed)"
    if name.lower() != name:
        return "contains upper-case letters (names must mean the same file everywhere)"
    return "contains characters other than a-z, 0-9, '_', '.' and '-'"
