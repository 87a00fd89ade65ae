"""Flask extensions, created bare and bound to the app in ``create_app``."""

from typing import Any

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
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
login_manager = LoginManager()
csrf = CSRFProtect()


# No default limits: each chat endpoint names its own (helpdesk/web/chat/routes.py).
limiter = Limiter(key_func=get_remote_address)


@limiter.request_filter
def _provider_webhook() -> bool:
    # No limit applies to provider webhooks (they are signed and come at the provider's pace);
    # exempting them up front spares every text the resolving of limits, a tenth of a millisecond.
    return request.blueprint == "webhooks"


def render_column_type(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our column types into migrations as the plain types they store."""
    from helpdesk.models.base import StrEnumType, UtcDateTime

    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, StrEnumType):
        return f"sa.String(length={obj.impl.length})"
    return False
