"""What the packaging needs to know about the app's ELF files (binutils' readelf and strip).

- Which shared libraries they load that the app folder does not carry: the .deb must declare
  the Debian packages providing them (tests/installer checks this against DEBIAN/control).
- The newest glibc symbol version they use: the .deb's minimum libc6.
- Stripping symbol tables, which nothing reads at run time, from the libraries that tolerate it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
_NEEDED = re.compile(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]")
_RPATH_INTO_WHEEL_LIBS = re.compile(r"\((?:RPATH|RUNPATH)\)[^\n]*\.libs")
_GLIBC = re.compile(r"\bGLIBC_(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class ElfInfo:
    path: Path
    needed: frozenset[str]  # DT_NEEDED sonames
    has_symbols: bool  # a .symtab that strip would remove
    rpath_into_wheel_libs: bool  # auditwheel patched it to find a vendored *.libs library
    glibc: tuple[int, ...]  # the newest GLIBC_x.y[.z] symbol version it uses


def elf_files(folder: Path) -> Iterator[Path]:
    """Every regular ELF file under ``folder`` (symbolic links are not followed)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                if fh.read(4) == ELF_MAGIC:
                    yield path


def inspect(path: Path) -> ElfInfo:
    out = subprocess.run(
        ["readelf", "--wide", "--dynamic", "--section-headers", "--version-info", str(path)],
        capture_output=True, text=True, check=True).stdout
    versions = [tuple(int(g or 0) for g in m.groups()) for m in _GLIBC.finditer(out)]
    return ElfInfo(path, frozenset(_NEEDED.findall(out)), " .symtab " in out,
                   bool(_RPATH_INTO_WHEEL_LIBS.search(out)), max(versions, default=(0, 0, 0)))


def unresolved_libraries(folder: Path) -> dict[str, list[Path]]:
    """Sonames needed by files in ``folder`` that no file or link in ``folder`` provides (the
    system must), each with the files that need it."""
    provided = {p.name for p in folder.rglob("*.so*")}
    missing: dict[str, list[Path]] = {}
    for path in elf_files(folder):
        for soname in inspect(path).needed - provided:
            missing.setdefault(soname, []).append(path)
    return missing


def glibc_version(folder: Path) -> str:
    """The newest GLIBC_x.y symbol version any ELF file in ``folder`` requires, e.g. "2.34"."""
    newest = max((inspect(p).glibc for p in elf_files(folder)), default=(2, 0, 0))
    return ".".join(str(n) for n in (newest if newest[2] else newest[:2]))


def strippable(info: ElfInfo) -> bool:
    """A shared library whose symbol table strip can remove. Never one that auditwheel vendored
    into a wheel (``*.libs/``) nor an extension module it patched to find one: patchelf's
    layout does not survive strip ("ELF load command address/offset not page-aligned")."""
    path = info.path
    if path.suffix != ".so" and ".so." not in path.name:
        return False  # the app's executable carries its Python archive after the ELF part
    if any(part.endswith(".libs") for part in path.parts):
        return False
    return info.has_symbols and not info.rpath_into_wheel_libs


def strip_libraries(folder: Path) -> int:
    """Strip the symbol tables of the strippable libraries under ``folder``; bytes saved."""
    saved = 0
    for path in elf_files(folder):
        if strippable(inspect(path)):
            before = path.stat().st_size
            subprocess.run(["strip", "--strip-unneeded", str(path)], check=True)
            saved += before - path.stat().st_size
    return saved
