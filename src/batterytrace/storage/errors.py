"""What a store's failures mean to its callers, whatever the database: ``StorageUnavailableError``
(try again later: a lock held past the busy timeout, a lost connection, a transaction conflict)
and ``StorageCorruptError`` (the stored ledger cannot be read: not a database, malformed pages, a
missing table). The API answers 503 with Retry-After and 500 respectively; the CLI prints one line.

``map_store_errors`` wraps every public method of a store class so that no driver exception
escapes it untranslated (generator methods included: rows read while iterating)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from batterytrace.errors import StorageError

__all__ = ["StorageCorruptError", "StorageUnavailableError", "map_store_errors"]

T = TypeVar("T")


class StorageUnavailableError(StorageError):
    """The store cannot serve this now; the same request may succeed after ``retry_after``
    seconds. ``retryable``: a transaction conflict the writer may retry at once."""

    def __init__(self, message: str, retry_after: int = 1, retryable: bool = False) -> None:
        super().__init__(message)
        self.retry_after, self.retryable = retry_after, retryable


class StorageCorruptError(StorageError):
    """The stored ledger cannot be read as one (damaged file, garbage, a dropped table)."""


def map_store_errors(translate: Callable[[Exception], StorageError | None]) -> Callable[[type[T]], type[T]]:
    """Class decorator: every public method (and ``write_lock``'s body is the caller's business)
    re-raises what ``translate`` turns into a ``StorageError``; other exceptions pass unchanged."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
                try:
                    yield from fn(*args, **kwargs)
                except Exception as exc:
                    mapped = translate(exc)
                    if mapped is None:
                        raise
                    raise mapped from exc
            return gen

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                mapped = translate(exc)
                if mapped is None:
                    raise
                raise mapped from exc
        return call

    def decorate(cls: type[T]) -> type[T]:
        for name, member in list(vars(cls).items()):
            if name.startswith("_") or name == "write_lock" or not inspect.isfunction(member):
                continue
            setattr(cls, name, wrap(member))
        return cls

    return decorate
