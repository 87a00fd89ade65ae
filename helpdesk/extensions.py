"""Flask extensions, created bare and bound to the app in ``create_app``."""

from typing import Any

import flask_limiter
from flask import request
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


class Limiter(flask_limiter.Limiter):
    """Flask-Limiter, which leaves the blueprints that no limit applies to alone."""

    # Its check before each request resolves the limits of the request's endpoint even when
    # none applies; on a provider webhook that was a tenth of a millisecond of every request.
    UNLIMITED_BLUEPRINTS = frozenset({"webhooks"})

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if request.blueprint not in self.UNLIMITED_BLUEPRINTS:
            super()._check_request_limit(callable_name, in_middleware)


# No default limits: each chat endpoint names its own (helpdesk/web/chat/routes.py).
limiter = Limiter(key_func=get_remote_address)


def render_column_type(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our column types into migrations as the plain types they store."""
    from helpdesk.models.base import StrEnumType, UtcDateTime

    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, StrEnumType):
        return f"sa.String(length={obj.impl.length})"
    return False
