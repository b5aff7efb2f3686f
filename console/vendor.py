"""The third-party browser assets the app serves itself (installations often have no internet
access): each package at a pinned version, the files taken from its npm tarball, and its LICENSE
kept beside them in console/static/vendor/<package>-<version>/.

`bin/refresh-assets` (`python -m console.vendor`) downloads the pinned tarballs with `npm pack`
and copies the files again; change a version here, run it, commit the folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor"
URL_PREFIX = "/console/static"


@dataclass(frozen=True)
class Package:
    """An npm package pinned at `version`; `files` maps a path in its tarball to the name we serve."""

    name: str
    version: str
    files: dict[str, str]

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"

    def url(self, served: str) -> str:
        """The app's URL of one of the package's files."""
        if served not in self.files.values():
            raise KeyError(f"{self.name} serves no file {served!r}")
        return f"{URL_PREFIX}/vendor/{self.folder}/{served}"


HTMX = Package("htmx.org", "2.0.11", {"dist/htmx.min.js": "htmx.min.js"})
UPLOT = Package(
    "uplot", "1.6.32", {"dist/uPlot.iife.min.js": "uPlot.iife.min.js", "dist/uPlot.min.css": "uPlot.min.css"}
)
SWAGGER_UI = Package(
    "swagger-ui-dist",
    "5.35.0",
    {
        "swagger-ui-bundle.js": "swagger-ui-bundle.js",
        "swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt",  # what the bundle bundles
        "swagger-ui.css": "swagger-ui.css",
        "favicon-32x32.png": "favicon.png",
    },
)
# ReDoc 2: the major version FastAPI's get_redoc_html is written for.
REDOC = Package(
    "redoc",
    "2.5.4",
    {
        "bundles/redoc.standalone.js": "redoc.standalone.js",
        "bundles/redoc.standalone.js.LICENSE.txt": "redoc.standalone.js.LICENSE.txt",
    },
)
PACKAGES = (HTMX, UPLOT, SWAGGER_UI, REDOC)
LICENSE = "LICENSE"


def refresh(packages: tuple[Package, ...] = PACKAGES) -> None:
    """Fetch each package's tarball from the npm registry and replace its folder."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch the assets from the npm registry")
    with tempfile.TemporaryDirectory() as scratch:
        for package in packages:
            spec = f"{package.name}@{package.version}"
            subprocess.run([npm, "pack", "--silent", spec], cwd=scratch, check=True, stdout=subprocess.DEVNULL)
            tarball = next(Path(scratch).glob(f"{package.name.replace('/', '-')}-{package.version}.tgz"))
            target = VENDOR / package.folder
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            with tarfile.open(tarball) as archive:
                for inside, served in {**package.files, LICENSE: LICENSE}.items():
                    member = archive.extractfile(f"package/{inside}")
                    if member is None:
                        raise SystemExit(f"{spec} has no file {inside}")
                    (target / served).write_bytes(member.read())
            sys.stderr.write(f"{spec}: {', '.join(sorted(package.files.values()))} and {LICENSE}\n")
    kept = {package.folder for package in packages}
    for stale in VENDOR.iterdir():
        if stale.is_dir() and stale.name not in kept:
            shutil.rmtree(stale)


if __name__ == "__main__":
    refresh()
