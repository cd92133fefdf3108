"""Leaving a process that ran executors without paying for the interpreter's teardown.

After TensorFlow, Beam and TFMA have run, Python's finalization (destroying every module's
objects, then the native libraries' static objects) takes about 2 s here: a tenth of a cold
penguin run, spent after the work is done. Everything a command writes is closed or published
before its ``main`` returns, and the metadata store commits each write, so the executables
(``conveyor`` and the single-node entrypoint) end with :func:`exit_process`: flush, run the
``atexit`` handlers (logging, temporary files, multiprocessing), then ``os._exit``.

Only the executables do this; ``main`` functions return normally, so calling them in-process
(tests, notebooks) keeps the interpreter alive.
"""
from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn

#: Top-level packages whose presence makes the interpreter's teardown slow.
HEAVY_MODULES = frozenset({"tensorflow", "apache_beam", "tensorflow_model_analysis",
                           "tensorflow_transform", "tensorflow_data_validation"})


def exit_process(status: int, *, now: bool = False) -> NoReturn:
    """End the process with ``status``, skipping finalization once heavy libraries are loaded.
    ``now``: skip it in any case, so that threads still running (nodes of an interrupted run)
    end with the process instead of being waited for."""
    if not now and HEAVY_MODULES.isdisjoint(sys.modules):
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or the reader went away: nothing to keep
            pass
    # CPython's own exit runs these; os._exit would not.
    atexit._run_exitfuncs()
    os._exit(status)
