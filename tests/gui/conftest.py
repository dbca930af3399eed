"""GUI tests run on Qt's offscreen platform unless the caller chose one (e.g. xcb on Xvfb).

Set at import time, before pytest-qt creates the QApplication.
"""

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch the user's real workspace: the app installs the demo model on first start.
os.environ.setdefault("RATCHET_HOME", tempfile.mkdtemp(prefix="ratchet-gui-tests-"))
