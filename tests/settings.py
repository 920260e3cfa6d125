"""Test settings: the real PostgreSQL and Redis on localhost, isolated per xdist worker.

pytest-xdist workers inherit the controller's environment, so the defaults below are computed from the
environment the *user* gave (remembered in OMNIDESK_TEST_USER_ENV), never from values this module set in
the controller; otherwise every worker would share worker gw0's Redis database and key prefix.
"""
import json
import os
import tempfile

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_index = int(_worker.removeprefix("gw") or 0)
_KEYS = ("DATABASE_URL", "REDIS_URL", "OMNIDESK_REDIS_PREFIX", "OMNIDESK_DATA_DIR", "DJANGO_SECRET_KEY")
if "OMNIDESK_TEST_USER_ENV" not in os.environ:
    os.environ["OMNIDESK_TEST_USER_ENV"] = json.dumps({key: os.environ.get(key) for key in _KEYS})
_given = json.loads(os.environ["OMNIDESK_TEST_USER_ENV"])

_defaults = {
    # pytest-django appends the worker id to the test database's name.
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/omnidesk",
    # Redis database 0 is left to development; each worker gets its own database and key prefix.
    "REDIS_URL": f"redis://127.0.0.1:6379/{1 + _index % 15}",
    "OMNIDESK_REDIS_PREFIX": f"omnidesk-test-{_worker}",
    "OMNIDESK_DATA_DIR": None,  # made below, per worker
    "DJANGO_SECRET_KEY": "test-secret-key-not-for-production-0123456789",
}
# Server and worker processes started by a test get the test's values verbatim (tests/conftest.py stack_env).
_final = os.environ.get("OMNIDESK_TEST_ENV_FINAL") == "1"
for _key in () if _final else _KEYS:
    if _given.get(_key):
        # A prefix the user chose is still split per worker.
        os.environ[_key] = f"{_given[_key]}-{_worker}" if _key == "OMNIDESK_REDIS_PREFIX" else _given[_key]
    elif _key == "OMNIDESK_DATA_DIR":
        os.environ[_key] = tempfile.mkdtemp(prefix=f"omnidesk-test-{_worker}-")
    else:
        os.environ[_key] = _defaults[_key]

from omnidesk.settings import *  # noqa: E402,F401,F403

# A cache namespace per test run (inherited by the servers a test starts): presence, viewers and rate limits
# from an earlier run within their time-to-live must not leak into this one.
os.environ.setdefault("OMNIDESK_TEST_RUN", os.urandom(4).hex())
if "KEY_PREFIX" in CACHES["default"]:  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] += f":{os.environ['OMNIDESK_TEST_RUN']}"  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed: tests hash many passwords
