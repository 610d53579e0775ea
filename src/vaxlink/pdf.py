"""HTML to PDF, the one way vaxlink makes a PDF (certificates, daily reports).

WeasyPrint lays out a standalone HTML page with Noto Sans (full Vietnamese coverage), found on
disk at run time and embedded in the PDF. Nothing is downloaded while rendering: only `data:`
URLs and `file:` URLs inside the folders the caller names (its templates, the font folder) are
read; any other URL is refused and the page renders without it. Equal HTML gives equal bytes:
the PDF carries no creation or modification time (unless the page's own `dcterms.created` /
`dcterms.modified` meta says so) and no random file identifier.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from vaxlink.errors import VaxlinkError

if TYPE_CHECKING:
    from weasyprint.urls import URLFetcher

#: Where distributions install Noto Sans; the first folder holding both faces wins.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),  # Debian, Ubuntu: fonts-noto-core
    Path("/usr/share/fonts/noto"),  # Arch, Alpine
    Path("/usr/share/fonts/google-noto"),  # Fedora, RHEL
    Path("/usr/share/fonts/google-noto-vf"),
)
FONT_FILES = ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf")


@dataclass(frozen=True)
class FontFaces:
    """Regular and bold font files, and their `file:` URLs for an `@font-face` rule."""

    regular: Path
    bold: Path

    @property
    def folder(self) -> Path:
        """The folder the faces are read from (the renderer may read files there)."""
        return self.regular.parent

    def urls(self) -> dict[str, str]:
        """{"regular": file URL, "bold": file URL}, as the templates take them."""
        return {"regular": self.regular.as_uri(), "bold": self.bold.as_uri()}


def find_fonts(
    font_dir: Path | None = None, *, error: type[VaxlinkError] = VaxlinkError
) -> FontFaces:
    """Noto Sans regular and bold, from `font_dir` or the usual system folders; `error` (the
    caller's domain error) names the Debian package to install when they are missing."""
    folders = (Path(font_dir),) if font_dir is not None else FONT_DIRS
    for folder in folders:
        paths = [folder / name for name in FONT_FILES]
        if all(p.is_file() for p in paths):
            return FontFaces(*paths)
    raise error(
        f"Noto Sans ({', '.join(FONT_FILES)}) not found in {', '.join(map(str, folders))}: "
        "install the Debian package fonts-noto-core (full Vietnamese coverage)"
    )


def templates(folder: Path) -> Environment:
    """The Jinja2 environment for the printable pages in `folder`: autoescaped, strict."""
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    """Whether `path` lies under a root, as written (`..` folded) or with links followed."""
    written = Path(os.path.normpath(path))
    real = path.resolve()
    return any(written.is_relative_to(r) or real.is_relative_to(r.resolve()) for r in roots)


def local_fetcher(roots: Iterable[Path]) -> URLFetcher:
    """A WeasyPrint URL fetcher that reads `data:` URLs and files under `roots`, nothing else."""
    from weasyprint.urls import URLFetcher

    allowed = tuple(Path(os.path.abspath(r)) for r in roots)

    class LocalFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type hints
        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "file":
                path = Path(url2pathname(unquote(parts.path)))
                if parts.netloc not in ("", "localhost") or not _inside(path, allowed):
                    raise ValueError(f"refused: {url} lies outside the renderer's folders")
            elif scheme != "data":
                raise ValueError(f"refused: {url} (nothing is fetched over the network)")
            return super().fetch(url, headers)

    return LocalFetcher(allowed_protocols={"file", "data"}, allow_redirects=False)


def render_pdf(
    html: str,
    *,
    base_dir: Path,
    fonts: FontFaces,
    error: type[VaxlinkError] = VaxlinkError,
) -> bytes:
    """The page as PDF bytes, fonts embedded; relative URLs resolve against `base_dir`, and only
    files under `base_dir` and the fonts' folder are read. Failures raise `error`."""
    from weasyprint import HTML  # heavy import: only when a PDF is asked for
    from weasyprint.text.fonts import FontConfiguration

    fetcher = local_fetcher((base_dir, fonts.folder))
    try:
        document = HTML(string=html, base_url=str(base_dir), url_fetcher=fetcher)
        pdf = document.write_pdf(font_config=FontConfiguration())
    except Exception as exc:  # WeasyPrint raises bare exceptions from deep inside layout
        raise error(f"PDF rendering failed: {exc}") from exc
    if not isinstance(pdf, bytes):
        raise error("WeasyPrint returned no PDF")
    return pdf
