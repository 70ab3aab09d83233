"""The statement pages reach the disk before the export folder is renamed into place
(R19: a run killed after publishing never leaves a page half written)."""

import os
import sys

import pytest
from support_billing.exports import statements


def pages(folder, count=3):
    folder.mkdir()
    out = []
    for i in range(count):
        path = folder / f"INV-202603-{i:05d}.html"
        path.write_bytes(b"<html></html>")
        out.append(path)
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs(2) is Linux's")
def test_one_filesystem_flush_on_linux(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    assert statements._syncfs(tmp_path) is True
    statements._fsync_all(pages(tmp_path / "statements"))
    assert synced == []  # one syncfs, no fsync per file


def test_every_page_and_its_folder_flushed_without_syncfs(tmp_path, monkeypatch):
    flushed = []
    real_open = os.open
    names = {}

    def tracking_open(path, flags, *args):
        fd = real_open(path, flags, *args)
        names[fd] = os.path.basename(path)
        return fd

    monkeypatch.setattr(statements, "_syncfs", lambda folder: False)
    monkeypatch.setattr(os, "open", tracking_open)
    monkeypatch.setattr(os, "fsync", lambda fd: flushed.append(names[fd]))
    written = pages(tmp_path / "statements")
    statements._fsync_all(written)
    assert sorted(flushed) == sorted([p.name for p in written] + ["statements"])


def test_nothing_to_flush(tmp_path, monkeypatch):
    monkeypatch.setattr(statements, "_syncfs", lambda folder: pytest.fail("no pages"))
    statements._fsync_all([])
