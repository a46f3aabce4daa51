"""The secret key file: the one key that encrypts secrets at rest (Xero tokens, app secrets).

The key is a Fernet key in a file of its own, readable by the service's user only. It is
created on first start so a self-hoster never has to generate one by hand, and a file
other users can read is refused rather than silently used: anyone who can read the key
can decrypt every stored refresh token.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.fernet import Fernet

from ledgerbridge.errors import FieldError, LedgerbridgeError

FILE_MODE = 0o600
DIR_MODE = 0o700
_CHECK_MODES = os.name == "posix"  # Windows has no POSIX permission bits to inspect


class KeyFileError(LedgerbridgeError):
    """The key file exists but cannot be trusted or used; the message says how to fix it."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(
            detail,
            500,
            "key_file_unusable",
            "Secret key file unusable",
            [FieldError("secret_key_file", fix)],
        )


def load_or_create_key(path: Path) -> bytes:
    """The Fernet key in ``path``, creating the file (0600, in a 0700 directory) if missing."""
    path = path.expanduser()
    if not path.exists():
        _create_key_file(path)
    return _read_key_file(path)


def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` (and parents) as 0700 when missing; an existing one is left as is.

    Only directories this process creates are tightened: chmod-ing a directory the
    administrator chose (``/etc/ledgerbridge``, a shared volume) would be a surprise.
    """
    if directory.exists():
        return
    directory.mkdir(parents=True, mode=DIR_MODE, exist_ok=True)
    if _CHECK_MODES:
        directory.chmod(DIR_MODE)  # mkdir's mode is filtered by the umask


def _create_key_file(path: Path) -> None:
    """Write the key to a private temporary file, then publish it with ``os.link``, which
    fails when the name exists: the key file never exists half-written, so two processes
    starting at once both read the one key that was published first."""
    ensure_private_dir(path.parent)
    key = Fernet.generate_key()
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        try:
            if _CHECK_MODES:
                os.fchmod(fd, FILE_MODE)  # the umask may have removed bits, never added any
            os.write(fd, key + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        with contextlib.suppress(OSError):
            draft.unlink()


def _read_key_file(path: Path) -> bytes:
    if not path.is_file():
        raise KeyFileError(
            f"{path} is not a file.", f"point LEDGERBRIDGE_SECRET_KEY_FILE at a file, not {path}"
        )
    _refuse_shared_file(path)
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError:
        raise KeyFileError(
            f"{path} does not hold a valid key (32 url-safe base64-encoded bytes).",
            "restore the original key file from a backup; a new key cannot decrypt stored secrets",
        ) from None
    return key


def _refuse_shared_file(path: Path) -> None:
    if not _CHECK_MODES:
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"{path} can be read or changed by other users (mode {mode:04o}).",
            f"run `chmod 600 {path}` so only the service's user can use it",
        )


__all__ = ["KeyFileError", "ensure_private_dir", "load_or_create_key"]
