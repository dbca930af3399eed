"""Record ends of a quoted chunk: by the scanner compiled ahead of time (engine/batch/
_records_aot) when it is current; without it a small chunk is scanned in Python (visiting only
quotes, line ends and delimiters), a big one by numba's build; all follow the state machine of
records_kernels.scan_quoted (the csv module's quoting rules) to the byte. A small quoted file is
predicted without loading numba (issue 16)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine.batch import records
from engine.batch.records import _scan_quoted_events
from engine.batch.records_kernels import scan_quoted as _scan_quoted_source
from tests.engine.test_import_budget import loaded_by, under
from tests.engine.workspace_kit import SAMPLE

BYTES = st.lists(st.sampled_from([b"a", b"bc", b",", b";", b'"', b'""', b"\n", b"\r", b"\r\n",
                                  b"\xc3\xa9", b" "]), max_size=40).map(b"".join)


def both(data: bytes, delimiter: int) -> tuple:
    ends_ref = np.zeros(data.count(b"\n") + 1, dtype=np.int64)
    ends_new = ends_ref.copy()
    ref = _scan_quoted_source(np.frombuffer(data, dtype=np.uint8), delimiter, ends_ref)
    new = _scan_quoted_events(data, delimiter, ends_new)
    return (ref, ends_ref[:max(ref, 0)].tolist()), (new, ends_new[:max(new, 0)].tolist())


@given(BYTES, st.sampled_from([ord(","), ord(";"), ord("\t"), 0x2603]))
def test_the_python_scan_finds_the_records_the_state_machine_finds(data, delimiter):
    ref, new = both(data, delimiter)
    assert new == ref


def test_known_cases():
    cases = [b'a,"b\nc",d\ne\n', b'"x""y",z\n"\n"\n', b'ab"c\nd\n', b'"a"b"\nc\n',
             b'a\rb\n', b'a\r\n"b\r"\n', b"", b'"open\n']
    for data in cases:
        ref, new = both(data, ord(","))
        assert new == ref, data


def test_without_the_compiled_module_small_chunks_use_python_and_big_ones_numba(monkeypatch):
    calls = []
    monkeypatch.setattr(records, "_scan_quoted_events",
                        lambda *a: calls.append("python") or _scan_quoted_events(*a))
    monkeypatch.setattr(records.KERNELS, "loaded", {"aot": None})  # missing or stale
    data = b'a,"b\nc"\n' * 4
    ends = np.zeros(8, dtype=np.int64)
    assert records._scan_quoted(np.frombuffer(data, np.uint8), ord(","), ends) == 4
    assert calls == ["python"] and records.KERNELS.loaded == {"aot": None}
    monkeypatch.setattr(records, "PYTHON_SCAN_BYTES", 8)
    assert records._scan_quoted(np.frombuffer(data, np.uint8), ord(","), ends) == 4
    assert calls == ["python"] and "scan_quoted" in records.KERNELS.loaded


def test_with_the_compiled_module_every_quoted_chunk_uses_it(monkeypatch):
    calls = []
    monkeypatch.setattr(records, "_scan_quoted_events",
                        lambda *a: calls.append("python") or _scan_quoted_events(*a))
    monkeypatch.setattr(records.KERNELS, "loaded", {})
    data = b'a,"b\nc"\n' * 4
    ends = np.zeros(8, dtype=np.int64)
    assert records._scan_quoted(np.frombuffer(data, np.uint8), ord(","), ends) == 4
    assert calls == [] and records.KERNELS.loaded["aot"] is not None
    assert "scan_quoted" not in records.KERNELS.loaded  # numba's build: not even made


def test_predicting_a_small_quoted_file_loads_no_numba(demo_root, tmp_path):
    text = SAMPLE.read_text(encoding="utf-8").replace(",WN,", ',"WN",')
    assert '"' in text
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(text, encoding="utf-8")
    modules = loaded_by(tmp_path, "--workspace", str(demo_root), "predict", str(quoted), "-o",
                        str(tmp_path / "out.csv"))
    assert "engine.batch.score" in modules
    assert under(modules, "numba", "llvmlite", "pandas", "pyarrow.compute") == []
