"""`retrovue.gui`: the PySide6 desktop window over the catalog and the sync engine.

Everything Qt lives here; the engine (`retrovue.ingest`), the store and the path resolver never import
Qt. The GUI holds layout and wiring only: reads go through the read API `retrovue.catalog` (the one
the CLI and schedulers use), syncs through `retrovue.ingest.sync` on a worker
thread whose events reach the window as `UiBus` signals on the main thread. See docs/gui.md.
"""

from retrovue.gui import qtfix

qtfix.install()  # before any signal is emitted: see qtfix.py
