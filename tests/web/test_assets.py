"""The vendored front-end files: Pico's CSP-safe variant is exactly the unmodified file with its
data: icons moved into files (the CSP refuses data: images), and nothing loads from outside."""
from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
ORIGINAL = STATIC / "vendor" / "pico-2.1.1.min.css"
CSP_SAFE = STATIC / "vendor" / "pico-2.1.1.csp.min.css"
ICON = re.compile(r'--pico-icon-([a-z-]+):url\("data:image/svg\+xml,([^"]+)"\)')


def build() -> tuple[str, dict[str, str]]:
    """The CSP-safe stylesheet and the icon files it needs (the first, light-theme, variant of each)."""
    icons: dict[str, str] = {}
    variant: dict[tuple[str, str], str] = {}

    def to_file(match: re.Match) -> str:
        name, svg = match.group(1), urllib.parse.unquote(match.group(2))
        key = (name, svg)
        if key not in variant:
            variant[key] = name if name not in icons else f"{name}-{sum(k[0] == name for k in variant)}"
            icons[variant[key]] = svg
        return f'--pico-icon-{name}:url("../icons/{variant[key]}.svg")'
    return ICON.sub(to_file, ORIGINAL.read_text()), icons


def test_the_csp_safe_pico_is_the_original_with_icons_as_files():
    css, icons = build()
    assert CSP_SAFE.read_text() == css
    for name, svg in icons.items():
        assert (STATIC / "icons" / f"{name}.svg").read_text() == svg + "\n"
    assert "data:" not in css and css.startswith('@charset "UTF-8";/*!\n * Pico CSS')


def test_no_page_asset_comes_from_outside():
    for path in [*STATIC.rglob("*.css"), *STATIC.rglob("*.html"), *(STATIC.parent / "templates").rglob("*.html")]:
        if path != ORIGINAL:
            text = path.read_text()
            assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), path
            assert "data:" not in text or path.suffix != ".css", path


def test_pages_name_their_icon_so_browsers_do_not_ask_for_a_missing_favicon(client):
    html = client.get("/login").get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
    with client.get(href) as icon:  # a file response: closed, or its file stays open
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


if __name__ == "__main__":
    css, icons = build()
    CSP_SAFE.write_text(css)
    for name, svg in icons.items():
        (STATIC / "icons" / f"{name}.svg").write_text(svg + "\n")
    print(f"wrote {CSP_SAFE.name} and {len(icons)} icons")
