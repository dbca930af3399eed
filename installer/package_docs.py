"""The package's documentation files, generated at build time: /usr/share/doc/ratchet/copyright
(machine-readable, DEP-5), changelog.gz and the manual page ratchet.1.gz, plus DEBIAN/md5sums.

The licenses of the bundled components are read from their installed distributions' METADATA
(the same ones PyInstaller froze), never typed by hand, so they follow upgrades of the lock file.
Compressed files are written like `gzip -9n` (no name, mtime 0): the same inputs give the same
bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import os
import subprocess
import tempfile
from email.utils import parsedate_to_datetime
from pathlib import Path

MAINTAINER = "Ratchet maintainers <ratchet@example.org>"
# Distributions frozen into the app whose licenses the copyright file names, with where they are
# under /opt/ratchet (pure Python modules are in the `ratchet` executable's archive).
BUNDLED = (
    ("PySide6-Essentials", "_internal/PySide6/*"), ("shiboken6", "_internal/shiboken6/*"),
    ("numpy", "_internal/numpy/* _internal/numpy.libs/*"),
    ("scipy", "_internal/scipy/* _internal/scipy.libs/*"), ("pandas", "_internal/pandas/*"),
    ("pyarrow", "_internal/pyarrow/*"), ("numba", "_internal/numba/*"),
    ("llvmlite", "_internal/llvmlite/*"), ("cryptography", "_internal/cryptography/*"),
    ("platformdirs", "ratchet"), ("joblib", "ratchet"),
)
# Texts of licenses that Debian ships in /usr/share/common-licenses (the copyright file points
# there instead of repeating them).
COMMON_LICENSES = {"Apache-2.0": "Apache-2.0", "LGPL-3.0-only": "LGPL-3",
                   "GPL-2.0-only": "GPL-2", "GPL-3.0-only": "GPL-3"}
MIT_TEXT = """\
Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""


def gzip_n(data: bytes) -> bytes:
    """`gzip -9n`: best compression, no file name, mtime 0."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def license_of(distribution: str) -> str:
    """The license as the distribution's METADATA states it: License-Expression, else a
    one-line License field, else the names of its `License ::` classifiers (spaces made
    hyphens: a DEP-5 license name is one word)."""
    meta = importlib.metadata.metadata(distribution)
    if meta.get("License-Expression"):
        return meta["License-Expression"].strip()
    field = (meta.get("License") or "").strip()
    if field and "\n" not in field and len(field) <= 80:
        return field
    classifiers = [c.split(" :: ")[-1].replace(" ", "-") for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]
    if classifiers:
        return " or ".join(classifiers)
    raise SystemExit(f"installer: {distribution}'s METADATA names no license; add it to "
                     "installer/package_docs.py by hand with the source of the information.")


def _paragraph(text: str) -> str:
    """A DEP-5 multi-line value: each line indented, blank lines as ' .'."""
    return "\n".join(f" {line}" if line.strip() else " ." for line in text.splitlines())


def copyright_text(project_license: str) -> str:
    lines = ["Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
             "Upstream-Name: ratchet", f"Upstream-Contact: {MAINTAINER}",
             "Comment: The app is built with PyInstaller and bundles the Python interpreter",
             " and third-party Python packages under /opt/ratchet. Each keeps its",
             " own license, named below as its installed METADATA states it; their license",
             " files are in their *.dist-info folders where PyInstaller kept them and at",
             " the project pages named in that METADATA.", "",
             "Files: *", f"Copyright: 2026 {MAINTAINER.split(' <')[0]}",
             f"License: {project_license}", ""]
    used = {project_license}
    for distribution, folders in BUNDLED:
        meta = importlib.metadata.metadata(distribution)
        name = license_of(distribution)
        holder = (meta.get("Author") or meta.get("Author-email") or meta.get("Maintainer")
                  or f"the {distribution} developers").split("\n")[0].strip()
        paths = " ".join(f"opt/ratchet/{f}" for f in folders.split())
        lines += [f"Files: {paths}", f"Copyright: {holder}", f"License: {name}",
                  f"Comment: {distribution} {meta['Version']}"
                  + (f", {meta['Home-page']}" if meta.get("Home-page") else ""), ""]
        used.update(part.strip("()") for part in name.replace(" OR ", " ").replace(
            " AND ", " ").replace(" or ", " ").replace(" and ", " ").split()
            if part not in {"WITH"} and not part.endswith("-exception"))
    lines += ["License: MIT", _paragraph(MIT_TEXT), ""]
    for name in sorted(used - {"MIT"}):
        if name in COMMON_LICENSES:
            body = (f"On Debian systems the full text of this license is in\n"
                    f"/usr/share/common-licenses/{COMMON_LICENSES[name]}.")
        else:
            body = ("The full text is in the license files of the components that use it\n"
                    "(see each one's project page or *.dist-info folder).")
        lines += [f"License: {name}", _paragraph(body), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def changelog_text(template: str, version: str) -> str:
    """installer/debian/changelog with its version and maintainer filled in; its newest entry
    must be for the version being packaged."""
    text = template.replace("@MAINTAINER@", MAINTAINER)
    first = text.split("\n", 1)[0]
    if f"({version})" not in first:
        raise SystemExit(f"installer: installer/debian/changelog starts with {first!r} but the "
                         f"version is {version} (pyproject.toml); add an entry for {version}.")
    return text


def _roff(text: str) -> str:
    """Plain text as roff lines: backslashes escaped, no line read as a request."""
    return "\n".join("\\&" + line.replace("\\", "\\e") for line in text.splitlines())


def manpage(app: Path, version: str, date: str) -> str:
    """ratchet(1) from the app's own `ratchet --help` (run from the staged app, in a scratch
    home so nothing is written anywhere else)."""
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8",
               "COLUMNS": "80", "QT_QPA_PLATFORM": "offscreen", "RATCHET_HOME": f"{home}/ws",
               "RATCHET_CONFIG_DIR": f"{home}/config", "XDG_CACHE_HOME": f"{home}/cache"}
        help_text = subprocess.run([str(app), "--help"], env=env, capture_output=True,
                                   text=True, check=True, timeout=120).stdout
    return "\n".join([
        f'.TH RATCHET 1 "{date}" "ratchet {version}" "User Commands"',
        ".SH NAME", "ratchet \\- small predictive models in production, kept honest",
        ".SH SYNOPSIS", ".B ratchet", "[\\fIFILE\\fR.ratchet]", ".br",
        ".B ratchet", "[\\fIoptions\\fR] \\fICOMMAND\\fR ...",
        ".SH DESCRIPTION",
        "With no command, or with a model bundle, ratchet opens the desktop app (on the",
        "import of that bundle). With a command, it works on the command line; each command",
        "has its own \\fB--help\\fR.",
        ".PP", ".nf", _roff(help_text), ".fi",
        ".SH FILES", ".TP", ".I /etc/ratchet/trust.json",
        "The organisation's trust store: the publisher keys allowed to sign models.",
        ".SH SEE ALSO", "/usr/share/doc/ratchet/", ""])


def md5sums(root: Path) -> str:
    """DEBIAN/md5sums: every regular file of the package (conffiles too), as dpkg lists it."""
    lines = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] == "DEBIAN" or path.is_symlink() or not path.is_file():
            continue
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        lines.append(f"{digest.hexdigest()}  {relative.as_posix()}\n")
    return "".join(lines)


def changelog_date(text: str) -> str:
    """The newest entry's date as a manual page date (2026-11-26), so the page is reproducible."""
    for line in text.splitlines():
        if line.startswith(" -- "):
            return parsedate_to_datetime(line.split(">  ", 1)[1]).date().isoformat()
    raise SystemExit("installer: installer/debian/changelog has no ' -- NAME <EMAIL>  DATE' line.")
