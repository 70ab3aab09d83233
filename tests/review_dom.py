"""Test helpers: open a review page in headless Chromium with the network off and read
what it shows from the DOM Chromium serialized (``--dump-dom``)."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # network off: every host name fails to resolve and any proxy use goes nowhere
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
]


def chromium(page: Path, workdir: Path, *args: str, timeout: int = 90) -> str:
    profile = workdir / f"profile-{len(list(workdir.glob('profile-*')))}"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    return out.stdout


def dump_dom(page: Path, workdir: Path) -> str:
    return chromium(page, workdir, "--dump-dom")


def screenshot(page: Path, workdir: Path, png: Path) -> Path:
    chromium(page, workdir, f"--screenshot={png}", "--window-size=1200,2000")
    return png


class ReviewDom(HTMLParser):
    """Texts by element id, and per customer row: its cells by class and its flags."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, str] = {}
        self.customers: dict[str, dict] = {}
        self.html_attrs: dict[str, str] = {}
        self.title = ""
        self._stack: list[tuple[str, dict, list[str]]] = []
        self._row: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.html_attrs = a
        if tag == "tr" and "customer" in a.get("class", "").split():
            self._row = {"customer_id": a["data-customer-id"], "cells": {}, "flags": []}
            self.customers[a["data-customer-id"]] = self._row
        if tag in ("meta", "br", "img", "link", "input"):
            return
        self._stack.append((tag, a, []))

    def handle_data(self, data):
        for _tag, _a, texts in self._stack:
            texts.append(data)

    def handle_endtag(self, tag):
        while self._stack:
            t, a, texts = self._stack.pop()
            text = " ".join("".join(texts).split())
            if a.get("id"):
                self.by_id[a["id"]] = text
            if t == "title" and not self.title:  # the page title, not an SVG <title>
                self.title = text
            if self._row is not None:
                if t == "td" and a.get("class"):
                    for cls in a["class"].split():
                        self._row["cells"][cls] = text
                if "flag" in a.get("class", "").split():
                    self._row["flags"].append(a["data-flag"])
            if t == "tr":
                self._row = None
            if t == tag:
                break
