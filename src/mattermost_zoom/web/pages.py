"""The small HTML pages a browser lands on at the end of the OAuth flow."""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}
h1{{font-size:1.4rem}}
</style></head>
<body><h1>{title}</h1><p>{detail}</p></body></html>
"""


def page(content: tuple[str, str], status: int = 200) -> HTMLResponse:
    title, detail = content
    return HTMLResponse(
        _TEMPLATE.format(title=escape(title), detail=escape(detail)),
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )
