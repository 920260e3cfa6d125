"""@mentions in internal notes: `@username` of a member of the ticket's municipality, case-insensitive."""
from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models.functions import Lower

# An "@" that starts a word: not preceded by a character that can be part of a username or an address, so
# "a@b.nl" is no mention; then a letter or digit ("@@jan", "@ jan" are none) and every character Django
# allows in a username.
_MENTION = re.compile(r"(?<![\w.@+-])@(\w[\w.@+-]*)")
# Punctuation that may end a sentence after a mention ("vraag het @jan.") but can also end a username.
_TRAILING = ".@+-"


def mention_tokens(text: str) -> list[tuple[str, ...]]:
    """Per mention, the lower-cased usernames it may mean, longest first ("jan." then "jan")."""
    tokens: list[tuple[str, ...]] = []
    for token in _MENTION.findall(text or ""):
        token = token.lower()
        options = [token]
        while options[-1][-1] in _TRAILING and len(options[-1]) > 1:
            options.append(options[-1][:-1])
        tokens.append(tuple(options))
    return tokens


def mentioned_users(text: str, municipality_id: int) -> list[AbstractBaseUser]:
    """The members of the municipality the text mentions, in order; a username elsewhere means nobody here."""
    tokens = mention_tokens(text)
    if not tokens:
        return []
    wanted = {option for options in tokens for option in options}
    members = (
        get_user_model().objects.annotate(username_lower=Lower("username"))
        .filter(username_lower__in=wanted, memberships__municipality_id=municipality_id, is_active=True)
        .order_by("pk")
    )
    by_name: dict[str, list[AbstractBaseUser]] = {}
    for user in members:
        by_name.setdefault(user.username_lower, []).append(user)  # type: ignore[attr-defined]
    found: dict[int, AbstractBaseUser] = {}
    for options in tokens:
        # The longest username that exists wins: "@jan." is user "jan." if there is one, else "jan".
        match = next((by_name[o] for o in options if o in by_name), [])
        for user in match:  # usernames differing only in case are all meant
            found.setdefault(user.pk, user)
    return list(found.values())
