"""What every response says to the browser, and which client address and scheme we believe.

- Security headers on every response (flask-talisman): a Content-Security-Policy that allows
  scripts from this site only (no inline script: page behaviour lives in ``static/*.js``), no
  framing, ``nosniff``, a same-origin referrer, HSTS over HTTPS.
- ``GREENCOIN_TRUSTED_PROXIES`` reverse proxies are believed (werkzeug's ProxyFix): the client
  address that rate limits and lockouts see is the real one, not the proxy's, and a forged
  ``X-Forwarded-For`` is ignored when no proxy is configured.
- The session cookie is HttpOnly, SameSite=Lax and Secure as ``GREENCOIN_SECURE_COOKIES`` says.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    # Inline style attributes stay allowed (htmx adds one too); they cannot run code.
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

talisman = Talisman()


def cookies_secure(app: Flask) -> bool:
    """Whether cookies set now carry ``Secure``: always, never, or when this request is HTTPS."""
    mode = app.config.get("SECURE_COOKIES", "auto")
    if mode == "auto":
        return has_request_context() and request.is_secure
    return mode == "1"


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return cookies_secure(app)


def _api_docs_policy(app: Flask) -> dict:
    """The interactive API docs are flask-smorest's page: one inline script and, unless vendored,
    files from the configured docs URL. Only those pages get that allowance."""
    sources = ["'self'", "'unsafe-inline'"]
    for key in ("OPENAPI_SWAGGER_UI_URL", "OPENAPI_REDOC_URL"):
        parts = urlsplit(app.config.get(key) or "")
        if parts.scheme and parts.netloc:
            sources.append(f"{parts.scheme}://{parts.netloc}")
    script = " ".join(dict.fromkeys(sources))
    return {**CONTENT_SECURITY_POLICY, "script-src": script, "style-src": script}


def init_app(app: Flask) -> None:
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)
    app.session_interface = SessionInterface()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at the proxy; HSTS is sent on HTTPS requests
        session_cookie_secure=False,  # decided per request by SessionInterface
        session_cookie_samesite="Lax",
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="same-origin",
    )


def relax_for_api_docs(app: Flask) -> None:
    """Call after the API's blueprints are registered (the docs views exist then)."""
    policy = _api_docs_policy(app)
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith("api-docs.") and not endpoint.endswith("openapi_json"):
            app.view_functions[endpoint] = _with_talisman_options(view, {"content_security_policy": policy})


def _with_talisman_options(view, options: dict):
    @functools.wraps(view)
    def docs_page(*args, **kwargs):
        return view(*args, **kwargs)

    docs_page.talisman_view_options = options
    return docs_page
