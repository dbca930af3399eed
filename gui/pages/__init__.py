"""The main window's pages; each gets an :class:`~gui.context.AppContext`."""
