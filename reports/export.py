"""Static charts and the offline JavaScript, both from vl-convert-python (no browser, no Node).

SVG first, then PNG from that SVG (``svg_to_png``): it lays the chart out once instead of
twice, which halves the export time of a report (vega/vl-convert ``README.md``, Limitations: PNG
through resvg costs about 1 s per 1,000 marks).

The Vega + Vega-Lite + vega-embed bundle takes vl-convert about 3 s to build and is the same
for one vl-convert version, so it is cached in the user's cache folder; an unwritable cache
just means building it every time.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from exabench.errors import UserError

PNG_SCALE = 2.0
"""Pixels per CSS pixel of the PNGs: sharp on a high-density screen and in a slide."""


def _vl_convert():
    try:
        import vl_convert
    except ImportError:  # pragma: no cover - a core dependency
        raise UserError(
            "exabench report needs vl-convert-python (pip install vl-convert-python)"
        ) from None
    return vl_convert


def svg_and_png(spec: dict, *, png: bool = True) -> tuple[str, bytes | None]:
    vlc = _vl_convert()
    svg = vlc.vegalite_to_svg(spec)
    return svg, (vlc.svg_to_png(svg, scale=PNG_SCALE) if png else None)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "exabench"


def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script that sets ``window.vegaEmbed``."""
    vlc = _vl_convert()
    path = _cache_dir() / f"vega-bundle-vlconvert-{vlc.__version__}.js"
    try:
        cached = path.read_text(encoding="utf-8")
        if "vegaEmbed" in cached:
            return cached
    except OSError:
        pass
    bundle = vlc.javascript_bundle()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".bundle.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(bundle)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: correct, only slower next time
    return bundle
