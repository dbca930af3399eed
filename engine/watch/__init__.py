"""The folder watcher: every new CSV in a folder is processed (now-tested) exactly once."""
