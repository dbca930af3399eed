"""The bundle ZIP layer: our writer round-trips and is deterministic, and the strict reader
refuses every malformed or hostile archive with its own stable code.

Hostile archives are crafted byte by byte with the small packers below, written independently
of engine.bundle.zipformat so that a wrong layout there cannot hide in a matching test.
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
import stat
import struct
import zipfile
import zlib

import pytest

from engine.bundle import ziparchive
from engine.bundle.ziparchive import LIMITS, ZipLimits, read_members, write_members
from engine.errors import BundleRejected

REGULAR = (stat.S_IFREG | 0o644) << 16


def deflate(content: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(content) + c.flush()


def entry(name: str | bytes, content: bytes, method: int = 8, **over) -> dict:
    """One member's fields; `over` replaces any of them (both headers), `local` only the local."""
    packed = deflate(content) if method == 8 else content
    raw = name.encode() if isinstance(name, str) else name
    fields = dict(name=raw, data=packed, method=method, flags=0, crc=zlib.crc32(content),
                  csize=len(packed), usize=len(content), extra=b"", comment=b"",
                  attrs=REGULAR, made_by=0x0314, disk=0, local={})
    fields.update(over)
    return fields


def local_record(e: dict) -> bytes:
    f = {**e, **e["local"]}
    header = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, f["flags"], f["method"], 0, 0x21,
                         f["crc"], f["csize"], f["usize"], len(f["name"]), len(f["extra"]))
    return header + f["name"] + f["extra"] + f["data"]


def central_record(e: dict, offset: int) -> bytes:
    header = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", e["made_by"], 20, e["flags"],
                         e["method"], 0, 0x21, e["crc"], e["csize"], e["usize"], len(e["name"]),
                         len(e["extra"]), len(e["comment"]), e["disk"], 0, e["attrs"], offset)
    return header + e["name"] + e["extra"] + e["comment"]


def end_record(count: int, size: int, offset: int, comment: bytes = b"", disk: int = 0,
               disk_count: int | None = None) -> bytes:
    disk_count = count if disk_count is None else disk_count
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", disk, disk, disk_count, count, size, offset,
                       len(comment)) + comment


def archive(entries: list[dict], **end) -> bytes:
    """The normal layout: locals in order from 0, then the directory, then the end record."""
    body, directory = b"", b""
    for e in entries:
        directory += central_record(e, len(body))
        body += local_record(e)
    return body + directory + end_record(len(entries), len(directory), len(body), **end)


def rejected(data: bytes, code: str, limits: ZipLimits = LIMITS) -> BundleRejected:
    with pytest.raises(BundleRejected) as info:
        read_members(data, limits)
    assert info.value.code == code, info.value.detail
    assert info.value.category == "damaged"
    return info.value


def json_text(size: int) -> bytes:
    rng = random.Random(7)
    rows, length = [], 0
    while length < size:
        row = json.dumps({"feature": rng.randrange(40), "threshold": rng.random(),
                          "left": rng.randrange(2000), "value": [rng.random()]})
        rows.append(row)
        length += len(row) + 2
    return ("[" + ",\n".join(rows) + "]").encode()


SAMPLE = [("manifest.json", b'{"model_id":"demo","version":3}'),
          ("empty.txt", b""),
          ("coefficients.json", json_text(20_000)),
          ("regression_cases.csv", b"a,b,expected\n1,2,0.5\n3,4,0.25\n")]


# --- the writer -------------------------------------------------------------------------------


def test_round_trip_keeps_names_order_and_bytes():
    big = json_text(5 * 2**20)
    members = [*SAMPLE, ("big.json", big)]
    out = read_members(write_members(members))
    assert list(out) == [name for name, _ in members]
    assert out == dict(members)


def test_empty_archive_round_trips():
    assert read_members(write_members([])) == {}


def test_writer_is_deterministic():
    assert write_members(SAMPLE) == write_members([(n, bytes(c)) for n, c in SAMPLE])


def test_python_zipfile_reads_our_archives_and_sees_the_fixed_metadata():
    noise = random.Random(3).randbytes(5000)  # incompressible: stored is smaller
    members = [*SAMPLE, ("noise.bin", noise)]
    with zipfile.ZipFile(io.BytesIO(write_members(members))) as zf:
        assert zf.testzip() is None
        assert [(i.filename, zf.read(i)) for i in zf.infolist()] == members
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr == 0o100644 << 16 and info.create_system == 3
            assert info.extra == b"" and info.comment == b"" and info.flag_bits == 0
        assert zf.comment == b""
        methods = {i.filename: (i.compress_type, i.compress_size) for i in zf.infolist()}
    content = dict(members)
    assert methods["noise.bin"] == (zipfile.ZIP_STORED, len(noise))
    assert methods["empty.txt"] == (zipfile.ZIP_STORED, 0)
    packed = deflate(content["coefficients.json"])
    assert methods["coefficients.json"] == (zipfile.ZIP_DEFLATED, len(packed))


@pytest.mark.parametrize("members", [[("../x", b"")], [("Upper.json", b"")],
                                     [("a.json", b"1"), ("a.json", b"2")]])
def test_writer_refuses_what_the_reader_would_refuse(members):
    with pytest.raises(ValueError):
        write_members(members)


def test_plain_zipfile_archive_is_accepted_and_a_crc_consistent_rezip_is_fine_here():
    # Replacing a member with other content and a matching CRC is a valid archive: catching
    # it is the manifest and signature layer's job, not this one's.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", SAMPLE[0][1])
        zf.writestr("coefficients.json", b'{"tampered": true}')
    assert read_members(buffer.getvalue())["coefficients.json"] == b'{"tampered": true}'


# --- file level ---------------------------------------------------------------------------------


def test_file_over_the_size_limit():
    data = write_members(SAMPLE)
    small = dataclasses.replace(LIMITS, max_file_size=len(data) - 1)
    assert "bytes" in rejected(data, "E_BUNDLE_TOO_LARGE", small).detail
    assert read_members(data, dataclasses.replace(LIMITS, max_file_size=len(data)))


def test_empty_file():
    assert "empty" in rejected(b"", "E_ZIP_NOT_A_ZIP").detail


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(seed):
    rejected(random.Random(seed).randbytes(4096), "E_ZIP_NOT_A_ZIP")


def test_truncated_at_every_offset():
    data = write_members([*SAMPLE[:2], ("c.csv", b"x,y\n" * 40)])
    for cut in range(1, len(data)):
        rejected(data[:cut], "E_ZIP_TRUNCATED")


def test_junk_before_the_archive():
    data = write_members(SAMPLE)
    rejected(b"MZ\x90\x00" + b"\x00" * 60 + data, "E_ZIP_LEADING_DATA")
    rejected(write_members([("other.txt", b"x")]) + data, "E_ZIP_LEADING_DATA")


def test_junk_before_with_offsets_adjusted_like_a_self_extractor():
    junk = b"#!/bin/sh\nexit 0\n"
    entries = [entry("a.txt", b"hello"), entry("b.txt", b"world")]
    body, directory = b"", b""
    for e in entries:
        directory += central_record(e, len(junk) + len(body))
        body += local_record(e)
    data = junk + body + directory + end_record(2, len(directory), len(junk) + len(body))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # why we cannot trust zipfile alone
        assert zf.read("a.txt") == b"hello"
    rejected(data, "E_ZIP_LEADING_DATA")


@pytest.mark.parametrize("junk", [b"\x00", b"trailing junk" * 100, b"PK\x05\x06"])
def test_junk_after_the_archive(junk):
    rejected(write_members(SAMPLE) + junk, "E_ZIP_TRAILING_DATA")


def test_archive_comment():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("a.txt", b"x")
        zf.comment = b"hello"
    rejected(buffer.getvalue(), "E_ZIP_COMMENT")
    rejected(write_members(SAMPLE)[:-2] + b"\x05\x00", "E_ZIP_COMMENT")  # declared, not there


def test_member_comment():
    rejected(archive([entry("a.txt", b"x", comment=b"note")]), "E_ZIP_COMMENT")


def test_zip64_markers():
    rejected(archive([entry("a.txt", b"x", csize=0xFFFFFFFF, usize=0xFFFFFFFF)]), "E_ZIP_ZIP64")
    body = local_record(entry("a.txt", b"x"))
    directory = central_record(entry("a.txt", b"x"), 0)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, 0, 1)
    rejected(body + directory + locator + end_record(1, len(directory), len(body)), "E_ZIP_ZIP64")
    rejected(body + directory + end_record(1, len(directory), 0xFFFFFFFF), "E_ZIP_ZIP64")
    rejected(body + directory + end_record(0xFFFF, len(directory), len(body)), "E_ZIP_ZIP64")


def test_multi_disk():
    rejected(archive([entry("a.txt", b"x")], disk=1), "E_ZIP_MULTI_DISK")
    rejected(archive([entry("a.txt", b"x"), entry("b.txt", b"y")], disk_count=1),
             "E_ZIP_MULTI_DISK")
    rejected(archive([entry("a.txt", b"x", disk=2)]), "E_ZIP_MULTI_DISK")


# --- central directory ---------------------------------------------------------------------------


def test_entry_count_must_match_the_directory():
    entries = [entry("a.txt", b"x"), entry("b.txt", b"y")]
    body = local_record(entries[0]) + local_record(entries[1])
    offset_b = len(local_record(entries[0]))
    directory = central_record(entries[0], 0) + central_record(entries[1], offset_b)
    rejected(body + directory + end_record(1, len(directory), len(body)), "E_ZIP_BAD_DIRECTORY")
    rejected(body + directory + end_record(3, len(directory), len(body)), "E_ZIP_BAD_DIRECTORY")
    rejected(body + directory + end_record(2, len(directory) - 1, len(body)),
             "E_ZIP_BAD_DIRECTORY")
    rejected(body + directory + b"\x00" * 4 + end_record(2, len(directory), len(body)),
             "E_ZIP_BAD_DIRECTORY")


def test_duplicate_names_made_by_patching_a_name():
    data = bytearray(write_members([("a.json", b'{"v": 1}'), ("b.json", b'{"v": 2}')]))
    for _ in range(2):  # both the local header and the directory entry
        data[data.index(b"b.json")] = ord("a")
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:  # zipfile silently picks the last
        assert zf.read("a.json") == b'{"v": 2}'
    assert "'a.json'" in rejected(bytes(data), "E_ZIP_DUPLICATE_NAME").detail


@pytest.mark.parametrize("name", ["../x", "/abs", "C:x", "c:x", "Upper.json", "dir/", "a/b",
                                  ".hidden", "..", "a\\b", "-rf", "", "caf\u00e9", "a b",
                                  "a\nb", "x" * 256])
def test_bad_names(name):
    rejected(archive([entry(name, b"x")]), "E_ZIP_BAD_NAME")


def test_name_that_is_not_utf8():
    rejected(archive([entry(b"a\xff.txt", b"x")]), "E_ZIP_BAD_NAME")


def test_too_many_members():
    members = [(f"m{i}.txt", b"x") for i in range(17)]
    rejected(write_members(members), "E_ZIP_TOO_MANY_MEMBERS")
    assert len(read_members(write_members(members[:16]))) == 16
    rejected(write_members(members[:3]), "E_ZIP_TOO_MANY_MEMBERS",
             dataclasses.replace(LIMITS, max_members=2))


@pytest.mark.parametrize("flags", [0x0001, 0x0040, 0x2000])
def test_encrypted_member(flags):
    rejected(archive([entry("a.txt", b"x", flags=flags)]), "E_ZIP_ENCRYPTED")


def test_aes_method_is_encryption():
    rejected(archive([entry("a.txt", b"x", method=99, flags=1)]), "E_ZIP_ENCRYPTED")


@pytest.mark.parametrize(("flags", "says"), [(0x0008, "data descriptor"), (0x0020, "0x0020"),
                                             (0x0010, "0x0010")])
def test_data_descriptor_and_unknown_flags(flags, says):
    e = rejected(archive([entry("a.txt", b"x", flags=flags)]), "E_ZIP_UNSUPPORTED_FLAGS")
    assert says in e.detail


def test_deflate_option_and_utf8_flags_are_harmless():
    data = archive([entry("a.txt", b"abc", flags=0x0802)])
    assert read_members(data) == {"a.txt": b"abc"}


@pytest.mark.parametrize("method", [1, 9, 12, 14, 93])
def test_unsupported_compression_crafted(method):
    e = rejected(archive([entry("a.txt", b"x", method=method, data=b"?", csize=1)]),
                 "E_ZIP_UNSUPPORTED_COMPRESSION")
    assert str(method) in e.detail


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_unsupported_compression_real(method):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        zf.writestr("a.txt", b"hello" * 100)
    rejected(buffer.getvalue(), "E_ZIP_UNSUPPORTED_COMPRESSION")


@pytest.mark.parametrize(("attrs", "says"), [((stat.S_IFLNK | 0o777) << 16, "symbolic link"),
                                             ((stat.S_IFDIR | 0o755) << 16, "directory"),
                                             (0x10, "directory"),
                                             ((stat.S_IFIFO | 0o644) << 16, "pipe"),
                                             ((stat.S_IFCHR | 0o644) << 16, "device")])
def test_special_members(attrs, says):
    e = rejected(archive([entry("thing", b"target.txt", attrs=attrs)]), "E_ZIP_SPECIAL_MEMBER")
    assert says in e.detail and "'thing'" in e.detail


def test_plain_dos_attributes_are_fine():
    assert read_members(archive([entry("a.txt", b"x", attrs=0x20, made_by=20)]))


def test_extra_fields():
    timestamp = struct.pack("<HHBI", 0x5455, 5, 1, 0)
    rejected(archive([entry("a.txt", b"x", extra=timestamp)]), "E_ZIP_EXTRA_FIELD")
    rejected(archive([entry("a.txt", b"x", extra=timestamp, local={"extra": b""})]),
             "E_ZIP_EXTRA_FIELD")
    rejected(archive([entry("a.txt", b"x", local={"extra": timestamp})]), "E_ZIP_EXTRA_FIELD")


# --- local headers and layout --------------------------------------------------------------------


@pytest.mark.parametrize("change", [{"name": b"b.txt"}, {"method": 0}, {"crc": 1},
                                    {"csize": 2}, {"usize": 7}, {"flags": 2}])
def test_local_header_must_agree_with_the_directory(change):
    e = rejected(archive([entry("x.txt", b"hello"), entry("a.txt", b"hello", local=change)]),
                 "E_ZIP_HEADER_MISMATCH")
    assert "'a.txt'" in e.detail


def test_missing_local_header():
    a, b = entry("a.txt", b"x"), entry("b.txt", b"hello")
    body = local_record(a) + b"XX" + local_record(b)[2:]
    directory = central_record(a, 0) + central_record(b, len(local_record(a)))
    rejected(body + directory + end_record(2, len(directory), len(body)), "E_ZIP_HEADER_MISMATCH")


def test_two_directory_entries_pointing_at_one_local_header():
    a = entry("a.txt", b"A" * 1000)
    body = local_record(a)
    directory = central_record(a, 0) + central_record(entry("b.txt", b"A" * 1000), 0)
    rejected(body + directory + end_record(2, len(directory), len(body)), "E_ZIP_OVERLAP")


def overlapping_bomb(files: int = 3, kernel_size: int = 100_000) -> bytes:
    """David Fifield's overlapping-file construction: every member's data is a stored deflate
    block quoting the next member's local header, then that member's data, down to one shared
    kernel. Each file inflates to the kernel plus headers; they all share the same bytes."""
    kernel = deflate(b"\x00" * kernel_size)
    data, output = kernel, b"\x00" * kernel_size
    records: list[tuple[dict, bytes]] = []
    for i in reversed(range(files)):
        e = entry(f"f{i}.bin", b"", data=data, crc=zlib.crc32(output), csize=len(data),
                  usize=len(output))
        header = local_record(e)[: -len(data)]
        records.insert(0, (e, header))
        quote = struct.pack("<BHH", 0, len(header), len(header) ^ 0xFFFF)
        data, output = quote + header + data, header + output
    body, offset, directory = local_record(records[0][0]), 0, b""
    for e, header in records:
        directory += central_record(e, offset)
        offset += len(header) + 5
    return body + directory + end_record(files, len(directory), len(body))


def test_classic_overlapping_file_bomb():
    rejected(overlapping_bomb(), "E_ZIP_OVERLAP")


def test_members_out_of_order():
    a, b = entry("a.txt", b"first"), entry("b.txt", b"second")
    body = local_record(a) + local_record(b)
    directory = central_record(b, len(local_record(a))) + central_record(a, 0)
    rejected(body + directory + end_record(2, len(directory), len(body)), "E_ZIP_OVERLAP")


def test_gap_between_members():
    a, b = entry("a.txt", b"first"), entry("b.txt", b"second")
    gap = b"hidden payload"
    body = local_record(a) + gap + local_record(b)
    directory = central_record(a, 0) + central_record(b, len(local_record(a)) + len(gap))
    rejected(body + directory + end_record(2, len(directory), len(body)), "E_ZIP_OVERLAP")


def test_gap_before_the_directory():
    a = entry("a.txt", b"first")
    body = local_record(a) + local_record(entry("hidden.txt", b"not listed"))
    directory = central_record(a, 0)
    rejected(body + directory + end_record(1, len(directory), len(body)), "E_ZIP_OVERLAP")


def test_member_running_into_the_directory():
    a = entry("a.txt", b"first", csize=10**6, local={"csize": 10**6})
    assert "runs into" in rejected(archive([a, entry("b.txt", b"x")]), "E_ZIP_OVERLAP").detail


# --- sizes, bombs and data ------------------------------------------------------------------------


@pytest.fixture
def no_inflate(monkeypatch):
    """Fails the test if anything is decompressed: bombs must be refused from the headers."""
    def boom(*args, **kwargs):
        raise AssertionError("decompressed before checking the declared sizes")
    monkeypatch.setattr(ziparchive.zlib, "decompressobj", boom)


def test_declared_size_bomb_is_refused_before_inflating(no_inflate):
    huge = LIMITS.max_member_size + 1  # within the ratio limit: the size alone is too much
    payload = random.Random(1).randbytes(2**20)
    e = rejected(archive([entry("a.json", payload, usize=huge)]), "E_ZIP_BOMB")
    assert "'a.json'" in e.detail and str(LIMITS.max_member_size) in e.detail


def test_declared_total_bomb_is_refused_before_inflating(no_inflate):
    size = 100 * 2**20  # each under the member and ratio limits, together over the total
    payload = random.Random(1).randbytes(2**20)
    entries = [entry(f"m{i}.bin", payload, usize=size) for i in range(3)]
    assert "in all" in rejected(archive(entries), "E_ZIP_BOMB").detail


def test_ratio_bomb_is_refused_before_inflating(no_inflate):
    data = write_members([("zeros.bin", b"\x00" * 50 * 2**20)])
    assert len(data) < 100_000
    rejected(data, "E_ZIP_BOMB")


def test_small_highly_compressible_member_is_fine():
    assert read_members(write_members([("zeros.bin", b"\x00" * 2**20)]))


def test_lying_size_never_allocates_more_than_declared_plus_one(monkeypatch):
    limits_seen = []
    real = zlib.decompressobj

    class Spy:
        def __init__(self, wbits):
            self.inner = real(wbits)

        def decompress(self, data, max_length=0):
            limits_seen.append(max_length)
            return self.inner.decompress(data, max_length)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(ziparchive.zlib, "decompressobj", Spy)
    content = b"\x00" * 100_000
    assert "more than" in rejected(archive([entry("a.bin", content, usize=10)]),
                                   "E_ZIP_CORRUPT").detail
    assert limits_seen == [11]


def test_inflates_to_fewer_bytes_than_declared():
    rejected(archive([entry("a.bin", b"abc" * 50, usize=151)]), "E_ZIP_CORRUPT")


def test_trailing_bytes_after_the_deflate_stream():
    content = b"hello world" * 20
    packed = deflate(content) + b"\x00\x00"
    rejected(archive([entry("a.txt", content, data=packed, csize=len(packed))]), "E_ZIP_CORRUPT")


def test_deflate_stream_cut_short():
    content = bytes(range(256)) * 20
    packed = deflate(content)[:-3]
    rejected(archive([entry("a.bin", content, data=packed, csize=len(packed))]), "E_ZIP_CORRUPT")


def test_deflate_stream_that_never_ends():
    # All the declared bytes come out, with the right CRC, but the stream has no final block.
    content = b"all of it"
    packed = struct.pack("<BHH", 0, len(content), len(content) ^ 0xFFFF) + content
    rejected(archive([entry("a.bin", content, data=packed, csize=len(packed))]), "E_ZIP_CORRUPT")


def test_not_deflate_data():
    rejected(archive([entry("a.bin", b"x" * 10, data=b"\xff" * 8, csize=8)]), "E_ZIP_CORRUPT")


def test_stored_sizes_must_agree():
    rejected(archive([entry("a.bin", b"abc", method=0, usize=4)]), "E_ZIP_CORRUPT")


@pytest.mark.parametrize("method", [0, 8])
def test_crc_mismatch(method):
    e = rejected(archive([entry("coefficients.json", b'{"a": 1}', method=method,
                                crc=zlib.crc32(b'{"a": 2}'))]), "E_ZIP_CRC")
    assert "'coefficients.json'" in e.detail


# --- single-byte flips ----------------------------------------------------------------------------


def assert_flip_is_caught_or_harmless(data: bytes, position: int, mask: int,
                                      expected: dict[str, bytes]) -> None:
    flipped = bytearray(data)
    flipped[position] ^= mask
    try:
        out = read_members(bytes(flipped))
    except BundleRejected:
        return
    assert out == expected, f"flip 0x{mask:02x} at {position} changed the members silently"


def test_every_single_byte_flip_in_a_small_archive():
    members = [("manifest.json", b'{"v":1}'), ("empty", b""), ("cases.csv", b"a,b\n1,2\n" * 9)]
    data = write_members(members)
    for position in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            assert_flip_is_caught_or_harmless(data, position, mask, dict(members))


def test_sampled_single_byte_flips_in_a_larger_archive():
    members = [*SAMPLE, ("noise.bin", random.Random(5).randbytes(3000))]
    data = write_members(members)
    rng = random.Random(11)
    for _ in range(2000):
        assert_flip_is_caught_or_harmless(data, rng.randrange(len(data)), rng.randrange(1, 256),
                                          dict(members))
