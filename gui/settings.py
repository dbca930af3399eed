"""The app's own preferences (window size, last folders): versioned JSON in the platform's
config folder (``RATCHET_CONFIG_DIR`` overrides it; the tests use a temporary one).

Loading is tolerant: a missing, unreadable or half-written file, unknown keys and values of the
wrong type all fall back to the defaults, key by key, and never stop the app. Saving is atomic
(temp file, fsync, rename), so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

log = logging.getLogger(__name__)

SETTINGS_FORMAT = "ratchet-gui-settings"
SETTINGS_VERSION = 1
FILE_NAME = "gui-settings.json"


@dataclass(slots=True)
class Settings:
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    page: str = "predict"
    last_input_dir: str = ""
    last_output_dir: str = ""
    last_bundle_dir: str = ""
    tray_notice_shown: bool = False  # "Ratchet keeps running in the tray" was shown once


def config_dir() -> Path:
    env = os.environ.get("RATCHET_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("ratchet", appauthor=False))


def settings_path() -> Path:
    return config_dir() / FILE_NAME


def load_settings(path: Path | None = None) -> Settings:
    path = path or settings_path()
    settings = Settings()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return settings
    except (OSError, ValueError) as exc:
        log.warning("ignoring the unreadable settings file %s: %s", path, exc)
        return settings
    if not isinstance(doc, dict) or doc.get("format") != SETTINGS_FORMAT:
        log.warning("ignoring %s: it is not a Ratchet settings file", path)
        return settings
    if doc.get("version") != SETTINGS_VERSION:
        # Newer or older layout: keep whatever keys still mean the same thing.
        log.info("reading settings version %r as version %d", doc.get("version"),
                 SETTINGS_VERSION)
    values = doc.get("values")
    if not isinstance(values, dict):
        return settings
    for f in fields(Settings):
        value = values.get(f.name)
        if value is not None and type(value) is type(getattr(settings, f.name)):
            setattr(settings, f.name, value)
        elif value is not None:
            log.warning("ignoring the setting %s=%r (wrong type)", f.name, value)
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> bool:
    """Write the settings atomically; False (logged) when the folder is not writable."""
    from engine.ground.fileio import write_atomic  # tempfile and socket: not before the window

    path = path or settings_path()
    doc = {"format": SETTINGS_FORMAT, "version": SETTINGS_VERSION, "values": asdict(settings)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        log.warning("could not save the settings to %s: %s", path, exc)
        return False
    return True
