"""The clinic dashboard: server-rendered pages for staff (templates, static files, pictures).

Everything here works as plain HTML forms; app.js only adds conveniences. Pages are built
for a strict Content-Security-Policy (see `templating.CONTENT_SECURITY_POLICY`): no inline
script, no inline style, nothing loaded from another host.
"""
