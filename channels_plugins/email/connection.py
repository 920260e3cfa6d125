"""Connections to the account's IMAP and SMTP servers, and what their failures mean for core.

Login refused, an untrusted certificate or a missing folder are AccountProblems (an administrator must act);
a server that cannot be reached or drops the connection is transient. No message here contains a password.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from omnidesk.plugin_api import AccountProblem, TransientDeliveryError

TIMEOUT_SECONDS = 30.0


def tls_context() -> ssl.SSLContext:
    # The system's trust store (honours SSL_CERT_FILE); certificates and host names are always verified.
    return ssl.create_default_context()


def network_error(exc: BaseException, server: str) -> TransientDeliveryError | AccountProblem:
    """A connection-level failure, as core should treat it."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return AccountProblem(f"The certificate of {server} is not trusted: {exc.verify_message}.", code="tls_certificate")
    if isinstance(exc, socket.gaierror):
        return TransientDeliveryError(f"The server name {server} cannot be resolved.", code="dns")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return TransientDeliveryError(f"{server} did not answer in time.", code="timeout")
    return TransientDeliveryError(f"{server} could not be reached ({type(exc).__name__}).", code="unreachable")


@contextmanager
def imap_session(config: Mapping[str, Any], *, timeout: float = TIMEOUT_SECONDS) -> Iterator[IMAPClient]:
    """A logged-in IMAP connection; logs out (or drops the socket) on the way out."""
    host, security = config["imap_host"], config["imap_security"]
    server = f"IMAP server {host}"
    try:
        client = IMAPClient(host, port=config["imap_port"], ssl=security == "ssl", ssl_context=tls_context(),
                            timeout=timeout)
    except (OSError, IMAPClientError) as exc:
        raise network_error(exc, server) from None
    try:
        try:
            if security == "starttls":
                client.starttls(tls_context())
            client.login(config["imap_username"], config["imap_password"])
        except LoginError:
            raise AccountProblem(f"The {server} refused the login of {config['imap_username']}: check the user name "
                                 "and (app) password.", code="imap_login") from None
        except (OSError, IMAPClientError) as exc:
            raise network_error(exc, server) from None
        yield client
    finally:
        try:
            client.logout()
        except Exception:  # the connection may be gone already; nothing left to close cleanly
            try:
                client.shutdown()
            except Exception:
                pass


def smtp_credentials(config: Mapping[str, Any]) -> tuple[str, str]:
    return (config.get("smtp_username") or config["imap_username"],
            config.get("smtp_password") or config["imap_password"])


@contextmanager
def smtp_session(config: Mapping[str, Any], *, timeout: float = TIMEOUT_SECONDS) -> Iterator[smtplib.SMTP]:
    host, port, security = config["smtp_host"], config["smtp_port"], config["smtp_security"]
    server = f"SMTP server {host}"
    try:
        if security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        if security == "starttls":
            smtp.starttls(context=tls_context())
    except smtplib.SMTPException as exc:
        raise TransientDeliveryError(f"The {server} refused the connection: {exc}", code="smtp_connect") from None
    except OSError as exc:
        raise network_error(exc, server) from None
    try:
        username, password = smtp_credentials(config)
        try:
            smtp.ehlo_or_helo_if_needed()
        except (smtplib.SMTPException, OSError) as exc:
            raise network_error(exc, server) from None
        if username and smtp.has_extn("auth"):
            try:
                smtp.login(username, password)
            except smtplib.SMTPAuthenticationError:
                raise AccountProblem(f"The {server} refused the login of {username}: check the user name and "
                                     "(app) password.", code="smtp_login") from None
            except smtplib.SMTPException as exc:
                raise TransientDeliveryError(f"The {server} failed during login: {exc}", code="smtp_login") from None
        yield smtp
    finally:
        try:
            smtp.quit()
        except Exception:  # already disconnected
            smtp.close()
