"""Running one node: resolve inputs, check the cache, execute, publish or fail.

See :mod:`conveyor.runtime.launcher`; :mod:`conveyor.runtime.entrypoint` runs one node from the
command line for orchestrators that start a process per node.
"""
