"""Canned responses: a municipality's ready-made replies, picked in the composer by typing "/shortcut"."""
