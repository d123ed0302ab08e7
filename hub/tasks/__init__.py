"""Celery tasks: thin interfaces over services. Each module registers explicit names."""

from hub.tasks.audit import *  # noqa: F403
from hub.tasks.bulk import *  # noqa: F403
from hub.tasks.invitations import *  # noqa: F403
from hub.tasks.migration import *  # noqa: F403
from hub.tasks.notifications import *  # noqa: F403
from hub.tasks.sync import *  # noqa: F403
