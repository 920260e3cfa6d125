"""Test settings: the real PostgreSQL and Redis on localhost, isolated per xdist worker."""
import os
import tempfile

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_index = int(_worker.removeprefix("gw") or 0)

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omnidesk")
# Redis database 0 is left to development; each xdist worker gets its own database and prefix.
os.environ.setdefault("REDIS_URL", f"redis://127.0.0.1:6379/{1 + _index % 15}")
os.environ.setdefault("OMNIDESK_REDIS_PREFIX", f"omnidesk-test-{_worker}")
os.environ.setdefault("OMNIDESK_DATA_DIR", tempfile.mkdtemp(prefix=f"omnidesk-test-{_worker}-"))
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789")

from omnidesk.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed: tests hash many passwords
