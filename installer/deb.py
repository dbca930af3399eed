"""The Debian package: dist/ratchet_<version>_amd64.deb from the one-folder app in dist/ratchet/.

Layout: /opt/ratchet/ (the app), /usr/bin/ratchet (a link to it), the menu entry, the .ratchet
file type and the icon under /usr/share, and the organisation's trust store
/etc/ratchet/trust.json (a conffile: an administrator's own copy survives upgrades). Packed
with `dpkg-deb --root-owner-group -Zzstd`, so no fakeroot is needed and packing stays fast.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

from installer import elf, package_docs

ROOT = Path(__file__).resolve().parent.parent
DEBIAN = ROOT / "installer" / "debian"
STAGE = ROOT / "build" / "deb" / "ratchet"
STAMP = ROOT / "build" / "installer" / "deb.sha256"
PACKAGING = ("installer/debian/*", "installer/deb.py", "installer/package_docs.py",
             "resources/icons/ratchet.svg", "coefficients/trust.json", "pyproject.toml")
DOC = "usr/share/doc/ratchet"

# Where each file of the package comes from (repository paths).
SHARED_FILES = {
    "usr/share/applications/ratchet.desktop": "installer/debian/ratchet.desktop",
    "usr/share/mime/packages/ratchet.xml": "installer/debian/ratchet.xml",
    "usr/share/icons/hicolor/scalable/apps/ratchet.svg": "resources/icons/ratchet.svg",
    "etc/ratchet/trust.json": "coefficients/trust.json",
}


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def deb_path() -> Path:
    return ROOT / "dist" / f"ratchet_{version()}_amd64.deb"


def _fingerprint(app_fingerprint: str) -> str:
    digest = hashlib.sha256(app_fingerprint.encode())
    for pattern in PACKAGING:
        for path in sorted(ROOT.glob(pattern)):
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _link_or_copy(src: str, dst: str) -> None:
    """Hard links keep staging fast and small; a copy where linking is not possible, or where
    the file would not be readable by every user once installed."""
    mode = os.stat(src).st_mode
    if mode & stat.S_IROTH:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o755 if mode & stat.S_IXUSR else 0o644)


def _installed_size_kib(root: Path) -> int:
    """As dpkg-gencontrol counts it: each file's size in KiB rounded up, 1 for anything else."""
    total = 0
    for path in root.rglob("*"):
        if "DEBIAN" in path.relative_to(root).parts[:1]:
            continue
        total += -(-path.lstat().st_size // 1024) if path.is_file() and not path.is_symlink() \
            else 1
    return total


def _is_shared_library(path: Path) -> bool:
    """libfoo.so / libfoo.so.6 (Python extension modules are .so too), not the executable."""
    name = path.name
    return not path.is_symlink() and path.is_file() and (name.endswith(".so") or ".so." in name)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, 0o644)


def _stage_docs(stage_root: Path) -> None:
    """copyright, changelog.gz and the manual page, generated (see installer/package_docs.py)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    _write(stage_root / DOC / "copyright",
           package_docs.copyright_text(project["license"]).encode())
    changelog = package_docs.changelog_text((DEBIAN / "changelog").read_text(), version())
    _write(stage_root / DOC / "changelog.gz", package_docs.gzip_n(changelog.encode()))
    page = package_docs.manpage(stage_root / "opt" / "ratchet" / "ratchet", version(),
                                package_docs.changelog_date(changelog))
    _write(stage_root / "usr/share/man/man1/ratchet.1.gz", package_docs.gzip_n(page.encode()))


def stage(app_dir: Path) -> Path:
    """The package's file tree in build/deb/ratchet/, DEBIAN/ included."""
    shutil.rmtree(STAGE, ignore_errors=True)
    shutil.copytree(app_dir, STAGE / "opt" / "ratchet", symlinks=True,
                    copy_function=_link_or_copy)
    (STAGE / "usr" / "bin").mkdir(parents=True)
    (STAGE / "usr" / "bin" / "ratchet").symlink_to("/opt/ratchet/ratchet")
    for dest, src in SHARED_FILES.items():
        (STAGE / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / src, STAGE / dest)
        os.chmod(STAGE / dest, 0o644)
    _stage_docs(STAGE)
    control = STAGE / "DEBIAN"
    control.mkdir()
    for name in ("conffiles", "postinst", "postrm"):
        shutil.copyfile(DEBIAN / name, control / name)
        os.chmod(control / name, 0o644 if name == "conffiles" else 0o755)
    fields = {"@VERSION@": version(), "@MAINTAINER@": package_docs.MAINTAINER,
              "@INSTALLED_SIZE@": str(_installed_size_kib(STAGE)),
              "@GLIBC@": elf.glibc_version(STAGE / "opt" / "ratchet")}
    text = (DEBIAN / "control.in").read_text()
    for key, value in fields.items():
        text = text.replace(key, value)
    (control / "control").write_text(text)
    (control / "md5sums").write_text(package_docs.md5sums(STAGE))
    os.chmod(control / "md5sums", 0o644)
    for path in STAGE.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o755)
        elif _is_shared_library(path):  # loaded, never run: 0644 as Debian policy asks
            os.chmod(path, 0o644)
    os.chmod(STAGE, 0o755)
    return STAGE


def build_deb(app_dir: Path, app_fingerprint: str, force: bool = False, log=print) -> Path:
    """dist/ratchet_<version>_amd64.deb, unless it is already built from these inputs."""
    out = deb_path()
    inputs = _fingerprint(app_fingerprint)
    if not force and out.is_file() and STAMP.is_file() and STAMP.read_text().strip() == inputs:
        log(f"reusing {out.relative_to(ROOT)} (its inputs are unchanged)")
        return out
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("installer: dpkg-deb is missing; it comes with dpkg (Debian/Ubuntu).")
    STAMP.unlink(missing_ok=True)
    root = stage(app_dir)
    out.unlink(missing_ok=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zzstd", "--build", str(root), str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(inputs + "\n")
    return out
