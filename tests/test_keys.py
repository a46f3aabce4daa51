"""The secret key file appears whole or not at all, so processes starting together agree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ledgerbridge import keys


def test_the_key_file_never_exists_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process reading the key while this one is still writing it must not find an
    empty file (it would refuse it as an invalid key): while the key is being written and
    synced, the key file's name does not exist yet."""
    path = tmp_path / "data" / "secret.key"
    seen_while_writing: list[bool] = []
    real_fsync = os.fsync

    def watching_fsync(fd: int) -> None:
        seen_while_writing.append(path.exists())
        real_fsync(fd)

    monkeypatch.setattr(keys.os, "fsync", watching_fsync)
    key = keys.load_or_create_key(path)

    assert seen_while_writing == [False]
    assert path.read_bytes().strip() == key
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"], "no temporary file is left behind"
    assert oct(path.stat().st_mode & 0o777) == oct(keys.FILE_MODE)


def test_a_key_published_first_by_another_process_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.key"
    theirs = keys.load_or_create_key(tmp_path / "theirs.key")
    real_link = os.link

    def they_were_first(src: str | Path, dst: str | Path) -> None:
        Path(dst).write_bytes(theirs + b"\n")
        os.chmod(dst, keys.FILE_MODE)
        real_link(src, dst)  # raises FileExistsError, as when the other process won

    monkeypatch.setattr(keys.os, "link", they_were_first)
    assert keys.load_or_create_key(path) == theirs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key", "theirs.key"]
