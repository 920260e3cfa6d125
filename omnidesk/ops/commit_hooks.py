"""After-commit work that a transaction needs once, however many of its writes ask for it."""
from __future__ import annotations

from collections.abc import Callable, Hashable

from django.db import DEFAULT_DB_ALIAS, connections, transaction

_MEMO = "_omnidesk_commit_once"


def on_commit_once(key: Hashable, func: Callable[[], None], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """`transaction.on_commit(func)`, unless a callback with this `key` is already waiting for the same commit.

    A drain that stores 200 new tickets, or a bulk of replies in one transaction, then asks Redis once for a delivery
    drain instead of 200 times. Django gives the connection a new `run_on_commit` list whenever it runs or discards
    callbacks (commit, rollback, a savepoint rolled back), so the keys are only trusted while that list is the one
    they were noted against: a key whose callback may have been discarded registers again (a harmless second call).
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        transaction.on_commit(func, using=using)  # runs now
        return
    memo: tuple[list, set[Hashable]] | None = getattr(connection, _MEMO, None)
    if memo is None or memo[0] is not connection.run_on_commit:
        memo = (connection.run_on_commit, set())
        setattr(connection, _MEMO, memo)
    if key in memo[1]:
        return
    transaction.on_commit(func, using=using)
    memo[1].add(key)
