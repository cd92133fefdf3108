"""Opening an ML Metadata database (SQLite, MySQL or in-memory) for
:class:`conveyor.metadata.mlmd.MlmdStore`."""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from typing import Any

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from conveyor.errors import MetadataError
from conveyor.metadata.config import ENV_VAR, MetadataConfig

# The generated protobuf module ships without type stubs: to mypy its names would not exist.
pb: Any = metadata_store_pb2
#: Held while a SQLite file may be created, so no other store of this process has it open.
_CREATING = threading.Lock()


def open_mlmd(config: MetadataConfig) -> metadata_store.MetadataStore:
    """An ML Metadata client on ``config``'s database; a new SQLite file is created in WAL mode.
    Failures are a MetadataError saying how to fix them."""
    connection = pb.ConnectionConfig()
    if config.kind == "sqlite":
        connection.sqlite.filename_uri = config.path
        connection.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        fix = ("check that the directory is writable and that the file, if it exists, is an ML "
               "Metadata SQLite database")
    elif config.kind == "mysql":
        connection.mysql.host = config.host
        connection.mysql.port = config.port
        connection.mysql.database = config.database
        connection.mysql.user = config.user
        connection.mysql.password = config.password
        fix = "check that the MySQL server is running and reachable, and the user and password"
    else:
        connection.fake_database.SetInParent()
        fix = "this is ML Metadata's in-memory database; check the ml-metadata installation"
    try:
        if config.kind != "sqlite":
            return metadata_store.MetadataStore(connection)
        with _CREATING:
            os.makedirs(os.path.dirname(config.path) or ".", exist_ok=True)
            if not os.path.exists(config.path):
                _create_with_write_ahead_log(config.path)
            return metadata_store.MetadataStore(connection)
    except (OSError, RuntimeError, mlmd_errors.StatusError) as err:
        raise MetadataError(
            f"cannot open the metadata store {config.describe()}: {err}. {fix[0].upper()}"
            f"{fix[1:]}, or choose another store with ${ENV_VAR} "
            f"(sqlite:///path, mysql://user:password@host:port/database or memory:)"
        ) from err


def _create_with_write_ahead_log(path: str) -> None:
    """Create an empty SQLite file in write-ahead-log mode, which the file then keeps.

    MLMD cannot set pragmas. In the default rollback-journal mode each transaction syncs the disk
    about three times (~3 ms per write here); with WAL it is ~1 ms, and readers in other
    processes (executors, the CLI) no longer block the writer. The file must then be on a local
    disk (WAL uses shared memory), as SQLite's locking needs anyway.

    Only a new file is touched, under :data:`_CREATING`: Python's sqlite3 is a second SQLite
    library in this process, and closing its connection to a file that MLMD has open would drop
    MLMD's locks and, in WAL mode, delete its log ("disk I/O error"). For the same reason,
    never open a store's file with Python's sqlite3 while a store on it is open in-process.
    """
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
            db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:
        pass  # WAL is only an optimisation; MLMD reports any real problem with the file
