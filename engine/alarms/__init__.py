"""Alarms raised by now-tests: stored de-duplicated in the workspace history (store), and sent
by e-mail through the SMTP server of the workspace settings (email)."""
