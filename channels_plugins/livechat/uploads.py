"""What a visitor may upload: the type is read from the content (filetype), never trusted from the browser."""
from __future__ import annotations

import re

import filetype

ALLOWED_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf")
SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


class UploadRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def checked_type(content: bytes) -> str:
    kind = filetype.guess(content[:8192])
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise UploadRefused("file_type", "Only images (PNG, JPEG, GIF, WebP) and PDF files can be sent.")
    return kind.mime


def safe_filename(name: str, content_type: str) -> str:
    """A plain file name with the extension of what the file really is."""
    stem = SAFE_NAME.sub("_", (name or "file").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("._ ")[:80] or "file"
    extension = filetype.get_type(mime=content_type).extension if filetype.get_type(mime=content_type) else "bin"
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return f"{stem}.{extension}"
