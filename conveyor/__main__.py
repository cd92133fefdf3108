"""``python -m conveyor`` is the ``conveyor`` command."""
from conveyor.cli import main
from conveyor.runtime.exit import exit_process

exit_process(main())
