"""``python -m conveyor`` is the ``conveyor`` command."""
from conveyor.cli import console_main

console_main()
