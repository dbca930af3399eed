"""GUI tests run on Qt's offscreen platform unless the caller chose one (e.g. xcb on Xvfb).

Set at import time, before pytest-qt creates the QApplication.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
