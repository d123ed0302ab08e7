"""Celery tasks: thin interfaces over services. Each module registers explicit names."""

from migrations_app.tasks.audit import *  # noqa: F403
from migrations_app.tasks.bulk import *  # noqa: F403
from migrations_app.tasks.invitations import *  # noqa: F403
from migrations_app.tasks.migration import *  # noqa: F403
from migrations_app.tasks.notifications import *  # noqa: F403
from migrations_app.tasks.sync import *  # noqa: F403
