"""The installer for real: build (or reuse) the .deb, unpack it into a scratch root, check what
it installs, and run the frozen app from there: its smoke start and `ratchet predict`, whose
output must equal the engine's byte for byte.

The build itself takes 1-2 minutes when anything changed (installer/build.py reuses dist/ratchet/
and the .deb otherwise); everything after it takes seconds.
"""

from __future__ import annotations

import configparser
import csv
import gzip
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.engine.workspace_kit import DEMO_BUNDLE, DEMO_ID, DEMO_LABEL

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "resources" / "samples" / "flights-2013-07-sample.csv"
BUILD_TIMEOUT_S = 1800  # bounds a hung build only
RUN_TIMEOUT_S = 180
TOOLS = ("dpkg-deb", "dpkg", "readelf", "strip")
LDCONFIG = shutil.which("ldconfig") or "/sbin/ldconfig"  # /sbin is not on a user's PATH
# Nothing of these may be in the app: publisher side, the optional Dask path, test tools, other
# toolkits, unused Qt modules and plugins, the build machine's system libraries.
# Qt6Network is carried: one app per workspace talks over a local socket (QLocalSocket).
FORBIDDEN = ("sklearn", "scikit_learn", "xgboost", "lightgbm", "nvidia", "dask", "distributed",
             "matplotlib", "IPython", "tkinter", "pytest", "hypothesis", "QtWebEngine",
             "Qt6WebEngine", "Qt6Quick", "Qt6Qml", "Qt6Pdf", "Qt6Multimedia", "Qt63D", "Qt6Charts",
             "Qt6Designer", "translations", "libgtk", "libX11.so", "libxcb.so",
             "libfontconfig", "libglib", "libssl", "demo-publisher.key", "build_demo.py")
FORBIDDEN_MODULES = {"sklearn", "xgboost", "lightgbm", "dask", "distributed", "pytest",
                     "_pytest", "hypothesis", "IPython", "matplotlib", "tkinter", "yaml", "tests"}


@pytest.fixture(scope="module")
def package() -> Path:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not Path(LDCONFIG).is_file():
        missing.append("ldconfig")
    if importlib.util.find_spec("PyInstaller") is None:
        missing.append("PyInstaller (the Python package; `make setup` installs it from "
                       "requirements/lock.txt)")
    if missing:
        pytest.fail("the installer test cannot build the package here; missing: "
                    + ", ".join(missing) + ". On Debian/Ubuntu: apt-get install dpkg binutils.",
                    pytrace=False)
    result = subprocess.run([sys.executable, "installer/build.py"], cwd=ROOT,
                            capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert result.returncode == 0, (f"installer/build.py failed:\n{result.stdout[-4000:]}\n"
                                    f"{result.stderr[-4000:]}")
    from installer.deb import deb_path

    return deb_path()


# Desktop cache tools a minimal root lacks; the scripts must install and remove without them.
CACHE_TOOLS = ("update-mime-database", "update-desktop-database", "gtk-update-icon-cache")


@pytest.fixture(scope="module")
def dpkg(tmp_path_factory):
    """dpkg on a scratch root, with a PATH that lacks the desktop cache tools. The maintainer
    scripts run without chroot (the root has no shell) and see the root as $DPKG_ROOT."""
    root = tmp_path_factory.mktemp("scratch-root")
    for folder in ("info", "updates", "triggers"):
        (root / "var" / "lib" / "dpkg" / folder).mkdir(parents=True)
    (root / "var" / "lib" / "dpkg" / "status").touch()
    tools = tmp_path_factory.mktemp("path")
    for folder in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        for tool in Path(folder).glob("*") if Path(folder).is_dir() else []:
            if tool.name not in CACHE_TOOLS and not (tools / tool.name).exists():
                (tools / tool.name).symlink_to(tool)
    env = {**os.environ, "PATH": str(tools)}
    options = ["--root", str(root), "--force-script-chrootless"]
    if os.geteuid() != 0:
        options.append("--force-not-root")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(["dpkg", *options, *args], env=env, capture_output=True,
                                text=True, timeout=RUN_TIMEOUT_S)
        assert not check or result.returncode == 0, f"dpkg {args}: {result.stderr[-2000:]}"
        return result

    run.root = root
    return run


@pytest.fixture(scope="module")
def scratch(package, dpkg) -> Path:
    """The package installed by dpkg into a scratch root (its postinst run there); its control
    files unpacked in the root's DEBIAN/ for the checks below."""
    dpkg("--force-depends", "-i", str(package))
    subprocess.run(["dpkg-deb", "-e", str(package), str(dpkg.root / "DEBIAN")], check=True)
    return dpkg.root


def _package_files(scratch: Path) -> list[Path]:
    """What dpkg recorded as the package's files and folders in the scratch root."""
    listing = scratch / "var" / "lib" / "dpkg" / "info" / "ratchet.list"
    return [scratch / line.lstrip("/") for line in listing.read_text().splitlines()
            if line not in ("/.", "/")]


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in folder.rglob("*")}


def _control(scratch: Path) -> dict[str, str]:
    fields, key = {}, None
    for line in (scratch / "DEBIAN" / "control").read_text().splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_the_package_installs_the_app_launcher_menu_entry_file_type_and_trust_store(scratch):
    launcher = scratch / "usr" / "bin" / "ratchet"
    assert launcher.is_symlink() and os.readlink(launcher) == "/opt/ratchet/ratchet"
    app = scratch / "opt" / "ratchet" / "ratchet"
    assert app.is_file() and os.access(app, os.X_OK)

    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(scratch / "usr" / "share" / "applications" / "ratchet.desktop")
    desktop = entry["Desktop Entry"]
    assert (desktop["Type"], desktop["Exec"], desktop["Icon"]) == \
        ("Application", "ratchet %f", "ratchet")
    assert "application/x-ratchet-bundle" in desktop["MimeType"].split(";")

    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = ET.parse(scratch / "usr" / "share" / "mime" / "packages" / "ratchet.xml")
    (kind,) = mime.getroot().findall("m:mime-type", ns)
    assert kind.get("type") == "application/x-ratchet-bundle"
    assert [g.get("pattern") for g in kind.findall("m:glob", ns)] == ["*.ratchet"]

    icon = scratch / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps" / "ratchet.svg"
    assert icon.read_bytes() == (ROOT / "resources" / "icons" / "ratchet.svg").read_bytes()
    trust = scratch / "etc" / "ratchet" / "trust.json"
    assert trust.read_bytes() == (ROOT / "coefficients" / "trust.json").read_bytes()
    assert (scratch / "DEBIAN" / "conffiles").read_text() == "/etc/ratchet/trust.json\n"
    for script in ("postinst", "postrm"):
        path = scratch / "DEBIAN" / script
        assert os.access(path, os.X_OK)
        subprocess.run(["sh", "-n", str(path)], check=True)  # parses as a shell script


def test_dpkg_installed_the_package_and_ran_its_postinst_without_the_cache_tools(scratch, dpkg):
    status = dpkg("-s", "ratchet").stdout
    assert "Status: install ok installed" in status
    conffiles = status.split("Conffiles:\n", 1)[1].splitlines()[0].split()
    assert conffiles[0] == "/etc/ratchet/trust.json"
    assert not (scratch / "usr" / "share" / "mime" / "mime.cache").exists()  # tool was absent


def test_md5sums_list_every_file_of_the_package_with_its_checksum(scratch):
    listed = {}
    for line in (scratch / "DEBIAN" / "md5sums").read_text().splitlines():
        digest, path = line.split("  ", 1)
        listed[path] = digest
    files = {p.relative_to(scratch).as_posix() for p in _package_files(scratch)
             if p.is_file() and not p.is_symlink()}
    assert set(listed) == files and "etc/ratchet/trust.json" in files
    for path, digest in listed.items():
        assert hashlib.md5((scratch / path).read_bytes(), usedforsecurity=False).hexdigest() \
            == digest, path


def test_the_package_documents_its_licenses_changelog_and_command(scratch):
    doc = scratch / "usr" / "share" / "doc" / "ratchet"
    paragraphs = [dict(line.split(": ", 1) for line in block.splitlines()
                       if ": " in line and not line.startswith(" "))
                  for block in (doc / "copyright").read_text().split("\n\n")]
    assert paragraphs[0]["Format"].endswith("/copyright-format/1.0/")
    files = {p["Files"]: p for p in paragraphs if "Files" in p}
    assert files["*"]["License"] == "MIT"
    (pyside,) = [p for name, p in files.items() if "/PySide6/" in name]
    assert "LGPL-3.0" in pyside["License"]
    for name in ("numpy", "scipy", "pandas", "pyarrow", "numba", "llvmlite", "cryptography",
                 "platformdirs", "joblib"):
        assert any(p.get("Comment", "").startswith(f"{name} ") for p in paragraphs), name
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for gz in (doc / "changelog.gz", scratch / "usr/share/man/man1/ratchet.1.gz"):
        assert gz.read_bytes()[4:8] == b"\0\0\0\0"  # gzip -n: no time stamp, no name
    changelog = gzip.decompress((doc / "changelog.gz").read_bytes()).decode()
    assert changelog.startswith(f"ratchet ({version}) ")
    assert " -- Ratchet maintainers <ratchet@example.org>  " in changelog
    page = gzip.decompress((scratch / "usr/share/man/man1/ratchet.1.gz").read_bytes()).decode()
    assert page.startswith(".TH RATCHET 1 ") and "predict" in page


def test_the_control_file_names_the_version_architecture_and_installed_size(scratch):
    fields = _control(scratch)
    assert fields["Maintainer"] == "Ratchet maintainers <ratchet@example.org>"
    assert "\n" not in fields["Depends"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (fields["Package"], fields["Version"], fields["Architecture"]) == \
        ("ratchet", version, "amd64")
    entries = _package_files(scratch)
    size = sum(p.lstat().st_size for p in entries if p.is_file() and not p.is_symlink())
    assert size <= int(fields["Installed-Size"]) * 1024 <= size + 1024 * len(entries)


def test_the_app_carries_only_what_it_uses(scratch):
    app = scratch / "opt" / "ratchet"
    paths = [str(p.relative_to(app)) for p in app.rglob("*")]
    for word in FORBIDDEN:
        found = [p for p in paths if word.lower() in p.lower()]
        assert not found, f"{word!r} should not be in the app: {found[:5]}"
    dangling = [p for p in paths if (app / p).is_symlink() and not (app / p).exists()]
    assert not dangling, f"links to files that were left out: {dangling[:5]}"
    shipped = app / "_internal" / "coefficients"
    assert sorted(p.name for p in shipped.iterdir()) == \
        [DEMO_BUNDLE.name, "demo-publisher.pub", "trust.json"]

    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(app / "ratchet"))
    (pyz,) = [name for name, entry in archive.toc.items() if entry[-1] == "z"]
    modules = {name.split(".")[0] for name in archive.open_embedded_archive(pyz).toc}
    assert {"engine", "gui", "numba", "scipy", "pyarrow", "PySide6"} <= modules
    assert not modules & FORBIDDEN_MODULES


def _packages_of(sonames: set[str]) -> dict[str, str | None]:
    """The Debian package that provides each soname on this machine, found as the loader would
    (ldconfig's cache), or None."""
    cache = subprocess.run([LDCONFIG, "-p"], capture_output=True, text=True,
                           check=True).stdout
    candidates: dict[str, list[str]] = {}
    for line in cache.splitlines():
        name, _, path = line.strip().partition(" => ")
        soname = name.split(" (")[0]
        if soname in sonames and "x86-64" in name and soname not in candidates:
            real = os.path.realpath(path)  # dpkg knows a file by the path its package used:
            candidates[soname] = [real, real.replace("/usr/lib/", "/lib/", 1), path]
    queried = sorted({p for paths in candidates.values() for p in paths})
    owners = subprocess.run(["dpkg", "-S", *queried], capture_output=True,
                            text=True).stdout  # exit 1 when some path belongs to no package
    owner_of = {}
    for line in owners.splitlines():
        package, _, path = line.partition(": ")
        owner_of[path] = package.split(":")[0]
    return {soname: next((owner_of[p] for p in candidates.get(soname, []) if p in owner_of),
                         None) for soname in sonames}


def test_depends_declares_every_system_library_the_app_loads(scratch):
    from installer.elf import unresolved_libraries

    depends = _control(scratch)["Depends"]
    declared = {alt.split("(")[0].strip().removesuffix("t64")
                for item in depends.split(",") for alt in item.split("|")}
    needed = unresolved_libraries(scratch / "opt" / "ratchet")
    undeclared = {}
    for soname, package in _packages_of(set(needed)).items():
        if package is None or package.removesuffix("t64") not in declared:
            undeclared[soname] = (package or "not installed on this machine",
                                  [p.name for p in needed[soname][:3]])
    assert not undeclared, f"libraries the app loads whose packages Depends lacks: {undeclared}"


@pytest.fixture(scope="module")
def frozen(scratch, tmp_path_factory):
    """Runs the installed app as an operator would (through a link, like /usr/bin/ratchet),
    with its own home, workspace, settings and caches, and the package's trust store."""
    home = tmp_path_factory.mktemp("operator")
    link = home / "bin" / "ratchet"
    link.parent.mkdir()
    link.symlink_to(scratch / "opt" / "ratchet" / "ratchet")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
           "RATCHET_HOME": str(home / "workspace"), "RATCHET_CONFIG_DIR": str(home / "config"),
           "XDG_CACHE_HOME": str(home / "cache"),
           "RATCHET_TRUST_STORE": str(scratch / "etc" / "ratchet" / "trust.json")}

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(link), *args], cwd=home, env={**env, **extra_env},
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)

    run.home = home
    return run


def test_a_frozen_command_without_a_window_loads_no_qt(frozen):
    """PyInstaller's PySide6 run-time hook imported QtCore at every start (installer/
    ratchet.spec leaves it out): the dynamic loader's own log (LD_DEBUG=files) of the installed
    app's `--version` and `models list` names no Qt library, while its window start does."""
    def loaded(*args: str, **extra: str) -> str:
        done = frozen(*args, LD_DEBUG="files", **extra)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stderr

    assert "libQt6Core" not in loaded("--version")
    assert "libQt6Core" not in loaded("models", "list")
    assert "libQt6Core" in loaded("gui", "--smoke", "0")


def test_the_frozen_app_starts_installs_the_demo_model_and_quits_cleanly(frozen, scratch):
    before = _listing(scratch / "opt")
    result = frozen("gui", "--smoke", "1")
    assert result.returncode == 0, result.stderr
    workspace = frozen.home / "workspace"
    assert (workspace / "models" / DEMO_ID / DEMO_BUNDLE.name).is_file()
    log = (workspace / "logs" / "ratchet-gui.log").read_text()
    assert log.rstrip().endswith("Ratchet app closed (exit code 0)")
    assert _listing(scratch / "opt") == before  # the installed app is never written to


def test_the_frozen_predict_equals_the_engine_byte_for_byte(frozen, scratch, tmp_path, capsys,
                                                             monkeypatch):
    from engine.cli import main
    from engine.ground.paths import Workspace
    from engine.registry.first_start import first_start

    frozen("gui", "--smoke", "0")  # the app's first start installs the demo model
    before = _listing(scratch / "opt")
    out = tmp_path / "frozen.csv"
    result = frozen("--json", "predict", str(SAMPLE), "-o", str(out))
    assert result.returncode in (0, 1), result.stderr
    summary = json.loads(result.stdout)
    assert (summary["model"], summary["rows"]) == (DEMO_LABEL, 2000)
    assert result.returncode == (1 if summary["rejected"] else 0)

    monkeypatch.setenv("RATCHET_TRUST_STORE", str(scratch / "etc" / "ratchet" / "trust.json"))
    reference = Workspace.open(tmp_path / "engine-workspace")
    first_start(reference)
    expected = tmp_path / "engine.csv"
    assert main(["--workspace", str(reference.root), "predict", str(SAMPLE), "-o",
                 str(expected)]) == result.returncode
    capsys.readouterr()
    assert out.read_bytes() == expected.read_bytes()
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert rows[0] == [*header, "prediction", "proba_0", "proba_1", "status", "error"]
    assert len(rows) == 2001
    provenance = json.loads(Path(f"{out}.provenance.json").read_text())
    assert provenance["bundle_sha256"] == json.loads(
        Path(f"{expected}.provenance.json").read_text())["bundle_sha256"]

    # The app ships its tree kernel compiled ahead of time (issue 16): a prediction compiles
    # nothing, so numba caches nothing (it used to write tree_kernel.*.nbi here).
    assert list((scratch / "opt").rglob("_tree_aot.*"))
    assert list((scratch / "opt").rglob("_shap_aot.*"))  # and its explanation kernel
    assert list((scratch / "opt").rglob("_resample_aot.*"))  # the bootstrap's kernels
    assert list((scratch / "opt").rglob("_records_aot.*"))  # the quoted-CSV scanner
    assert not list((frozen.home / "cache").rglob("*.nbi"))
    assert _listing(scratch / "opt") == before


def test_the_frozen_app_writes_a_pdf_report(frozen, tmp_path):
    """WeasyPrint ships in the app and lays out text with the workstation's Pango (a Depends).
    After the predict test: the report's explanations compile the explanation kernel, which numba
    caches in the operator's cache (the predict test above asserts a prediction caches
    nothing)."""
    import pypdf

    assert frozen("models", "import", str(DEMO_BUNDLE)).returncode in (0, 1)
    report = tmp_path / "suite.pdf"
    result = frozen("regress", "--report", str(report))
    assert result.returncode == 0, result.stderr
    assert report.read_bytes().startswith(b"%PDF-")
    first = pypdf.PdfReader(str(report)).pages[0].extract_text()
    assert f"Regression suite of {DEMO_ID}@" in first and "PASSED" in first


def test_the_frozen_command_line_reports_errors_without_tracebacks(frozen, tmp_path):
    version = frozen("--version")
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (version.returncode, version.stdout.split()) == (0, ["ratchet", expected])
    missing = frozen("predict", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "o.csv"))
    assert missing.returncode == 2
    assert "absent.csv" in missing.stderr and "Traceback" not in missing.stderr
    dask = frozen("backtest", str(SAMPLE), "--time-column", "time_hour", "--dask",
                  "tcp://127.0.0.1:8786")
    assert dask.returncode == 2
    assert "does not include Dask's `distributed` package" in dask.stderr
    assert "Traceback" not in dask.stderr


def test_removing_keeps_the_trust_store_and_purging_removes_it(scratch, dpkg):
    """Runs last (it removes what the tests above use): -r keeps the conffile, --purge not."""
    trust = scratch / "etc" / "ratchet" / "trust.json"
    dpkg("-r", "ratchet")
    assert trust.is_file() and not (scratch / "opt" / "ratchet").exists()
    assert not (scratch / "usr" / "bin" / "ratchet").is_symlink()
    assert "deinstall ok config-files" in dpkg("-s", "ratchet").stdout
    dpkg("--purge", "ratchet")
    assert not (scratch / "etc" / "ratchet").exists()
    assert dpkg("-s", "ratchet", check=False).returncode == 1
