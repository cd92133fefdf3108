"""Where the metadata lives: a small, serialisable connection description.

Spelled as a URL so it fits a command-line flag or an environment variable
(``CONVEYOR_METADATA``):

- ``sqlite:///abs/path/metadata.sqlite`` or ``sqlite:relative/path.sqlite`` (the default is
  ``<root>/metadata.sqlite``);
- ``mysql://user:password@host:3306/database`` for a store shared by a team or a cluster;
- ``memory:`` for ML Metadata's in-memory fake database (tests; lost when the process ends).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlparse

from conveyor.errors import MetadataError

ENV_VAR = "CONVEYOR_METADATA"


@dataclass(frozen=True)
class MetadataConfig:
    """A connection to an ML Metadata database."""

    kind: Literal["sqlite", "mysql", "memory"]
    path: str = ""
    host: str = ""
    port: int = 3306
    database: str = ""
    user: str = ""
    password: str = ""

    @classmethod
    def sqlite(cls, path: str) -> MetadataConfig:
        """A SQLite file, created when missing."""
        return cls("sqlite", path=os.path.abspath(path))

    @classmethod
    def memory(cls) -> MetadataConfig:
        """ML Metadata's in-memory fake database."""
        return cls("memory")

    @classmethod
    def for_root(cls, root: str) -> MetadataConfig:
        """The default store of a pipeline root: ``<root>/metadata.sqlite``."""
        return cls.sqlite(os.path.join(root, "metadata.sqlite"))

    @classmethod
    def parse(cls, url: str) -> MetadataConfig:
        """Read a URL of one of the forms in the module docstring."""
        if url in ("memory:", "memory://"):
            return cls.memory()
        if url.startswith("sqlite:"):
            path = url[len("sqlite:"):]
            if path.startswith("//"):
                path = path[2:]
            if not path:
                raise MetadataError(f"metadata URL {url!r} names no file; "
                                    f"use sqlite:///path/to/metadata.sqlite")
            return cls.sqlite(path)
        if url.startswith("mysql:"):
            parsed = urlparse(url)
            database = parsed.path.lstrip("/")
            if not parsed.hostname or not database:
                raise MetadataError(f"metadata URL {url!r} needs a host and a database; "
                                    f"use mysql://user:password@host:3306/database")
            return cls(
                "mysql",
                host=parsed.hostname,
                port=parsed.port or 3306,
                database=database,
                user=unquote(parsed.username or ""),
                password=unquote(parsed.password or ""),
            )
        raise MetadataError(
            f"metadata URL {url!r} is not understood; use sqlite:///path, "
            f"mysql://user:password@host:port/database or memory:"
        )

    @classmethod
    def resolve(cls, url: str | None, root: str) -> MetadataConfig:
        """``url`` if given, else ``$CONVEYOR_METADATA``, else the root's SQLite file."""
        chosen = url or os.environ.get(ENV_VAR)
        return cls.parse(chosen) if chosen else cls.for_root(root)

    def to_url(self) -> str:
        """The URL form, which :meth:`parse` reads back (passwords included)."""
        if self.kind == "memory":
            return "memory:"
        if self.kind == "sqlite":
            return f"sqlite://{self.path}"
        auth = f"{self.user}:{self.password}@" if self.user else ""
        return f"mysql://{auth}{self.host}:{self.port}/{self.database}"

    def describe(self) -> str:
        """A human-readable location, without the password."""
        if self.kind == "mysql":
            return f"mysql://{self.user + '@' if self.user else ''}{self.host}:{self.port}/" \
                   f"{self.database}"
        return self.to_url()
