"""The web layer: one blueprint per audience, the login session, roles and error pages."""

from __future__ import annotations

from flask import Flask

from helpdesk.extensions import csrf


def register_web(app: Flask) -> None:
    """Attach every blueprint, the login session, page helpers and the error pages."""
    from helpdesk.web import access, errors, formatting, security_headers, unstorable
    from helpdesk.web.admin import bp as admin_bp
    from helpdesk.web.agent import bp as agent_bp
    from helpdesk.web.api import bp as api_bp
    from helpdesk.web.auth import bp as auth_bp
    from helpdesk.web.chat import bp as chat_bp
    from helpdesk.web.files import bp as files_bp
    from helpdesk.web.health import bp as health_bp
    from helpdesk.web.manager import bp as manager_bp
    from helpdesk.web.outreach import bp as outreach_bp
    from helpdesk.web.survey import bp as survey_bp
    from helpdesk.web.unsubscribe import bp as unsubscribe_bp
    from helpdesk.web.verify import bp as verify_bp
    from helpdesk.web.webhooks import bp as webhooks_bp

    access.init_app(app)
    formatting.init_app(app)
    errors.init_app(app)
    security_headers.init_app(app)
    unstorable.init_app(app)
    for blueprint in (
        auth_bp,
        agent_bp,
        manager_bp,
        outreach_bp,
        admin_bp,
        api_bp,
        webhooks_bp,
        survey_bp,
        unsubscribe_bp,
        verify_bp,
        files_bp,
        chat_bp,
        health_bp,
    ):
        app.register_blueprint(blueprint)
    # The API authenticates every request by its bearer token and the webhooks by the
    # provider's signature, so a browser's cookies cannot forge either.
    csrf.exempt(api_bp)
    csrf.exempt(webhooks_bp)
    # Chat requests come from other sites' pages: a signed visitor token and the registered
    # origin check stand in for CSRF tokens (helpdesk/web/chat/routes.py).
    csrf.exempt(chat_bp)
