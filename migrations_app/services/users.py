"""People who use PartnerHub and their one role: add, change role, (de)activate.

A user holds exactly one of the role groups (viewer, operator, admin). The role
is the only source of rights: superuser and staff flags are cleared whenever a
role is set here (the admin site admits the admin role, not `is_staff`). Every
change leaves an audit event.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction

from migrations_app.models.audit import audit_record
from migrations_app.roles import ROLES

__all__ = [
    "UserChangeRefused",
    "UsernameTaken",
    "user_create",
    "user_sessions_end",
    "user_set_active",
    "user_set_role",
]

Actor = AbstractBaseUser | AnonymousUser


class UserChangeRefused(Exception):
    """Raised when a change would lock the last admin out, or names no role."""


class UsernameTaken(UserChangeRefused):
    """Raised when the username, once normalised, is someone else's already."""


def username_normalised(username: str) -> str:
    """Return `username` as Django stores it: Unicode NFKC (fullwidth "admin" is "admin")."""
    return User.normalize_username(username)


def username_taken(username: str) -> bool:
    """Return True if someone has `username`, compared normalised and caseless."""
    return User.objects.filter(username__iexact=username_normalised(username)).exists()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserChangeRefused(f"Choose a role: {', '.join(ROLES)}.")


def _assign(user: User, role: str) -> None:
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.set([group])
    user.is_superuser = False
    user.is_staff = False
    user.save(update_fields=["is_superuser", "is_staff"])
    # roles.user_role caches the role on the instance.
    user.__dict__.pop("_partnerhub_role", None)


def _other_active_admins(user: User) -> bool:
    return (
        User.objects.filter(is_active=True, groups__name="admin")
        .exclude(pk=user.pk)
        .exists()
        or User.objects.filter(is_active=True, is_superuser=True)
        .exclude(pk=user.pk)
        .exists()
    )


def user_create(
    *,
    username: str,
    email: str,
    role: str,
    password: str,
    actor: Actor,
    ip_address: str | None = None,
) -> User:
    """Create an active user with one role and return it.

    The username is normalised first (NFKC, as Django stores it), so the
    duplicate check compares what will be stored. Raise
    django.core.exceptions.ValidationError if the password is too weak,
    UsernameTaken if the normalised name is someone's already, and
    UserChangeRefused if the role is unknown.
    """
    _check_role(role)
    username = username_normalised(username)
    candidate = User(username=username, email=email)
    validate_password(password, candidate)
    taken = UsernameTaken(f"Someone already has the username {username}.")
    if username_taken(username):
        raise taken
    try:
        with transaction.atomic():
            user = _create(username=username, email=email, password=password, role=role)
            audit_record(
                action="user.added",
                actor=actor,
                ip_address=ip_address,
                message=f"Added {username} as {role}.",
                details={"user_id": user.pk, "username": username, "role": role},
            )
    except IntegrityError as exc:
        # Added by someone else between the check and the insert.
        raise taken from exc
    return user


def _create(*, username: str, email: str, password: str, role: str) -> User:
    user = User.objects.create_user(username=username, email=email, password=password)
    _assign(user, role)
    return user


def user_set_role(
    *, user: User, role: str, actor: Actor, ip_address: str | None = None
) -> bool:
    """Give `user` exactly the one role `role`; return False if it already had it.

    Raise UserChangeRefused if that would leave no active admin.
    """
    _check_role(role)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        before = sorted(user.groups.values_list("name", flat=True))
        if before == [role] and not user.is_superuser:
            return False
        if role != "admin" and user.is_active and not _other_active_admins(user):
            raise UserChangeRefused(
                f"{user.get_username()} is the only active admin; make someone else "
                "admin first."
            )
        _assign(user, role)
        audit_record(
            action="user.role_changed",
            actor=actor,
            ip_address=ip_address,
            message=f"Changed {user.get_username()}'s role to {role}.",
            details=_details(user, role=role, before=before),
        )
    return True


def user_set_active(
    *, user: User, active: bool, actor: Actor, ip_address: str | None = None
) -> bool:
    """Deactivate or reactivate `user`; return False if nothing changed.

    A deactivated user cannot sign in and keeps its history. Raise
    UserChangeRefused if that would leave no active admin.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        if user.is_active == active:
            return False
        if not active and not _other_active_admins(user):
            raise UserChangeRefused(
                f"{user.get_username()} is the only active admin; make someone else "
                "admin first."
            )
        user.is_active = active
        user.save(update_fields=["is_active"])
        # Saving it inactive has ended the sessions already (signals.py, for
        # every path, the admin site's included); this counts them for the log.
        ended = 0 if active else int(getattr(user, "_partnerhub_sessions_ended", 0))
        verb = "Reactivated" if active else "Deactivated"
        audit_record(
            action="user.reactivated" if active else "user.deactivated",
            actor=actor,
            ip_address=ip_address,
            message=f"{verb} {user.get_username()}."
            + ("" if active else f" Their {ended} open session(s) were ended."),
            details=_details(user, **({} if active else {"sessions_ended": ended})),
        )
    return True


def user_sessions_end(user: User) -> int:
    """Delete every stored session signed in as `user`; return how many.

    A deactivated user must not keep a session, and reactivating them must not
    bring an old cookie back to life. The count is also left on the instance
    (`_partnerhub_sessions_ended`) for the audit event of the change that saved it.
    """
    wanted = str(user.pk)
    keys = [
        session.session_key
        for session in Session.objects.iterator(chunk_size=500)
        if str(session.get_decoded().get("_auth_user_id", "")) == wanted
    ]
    Session.objects.filter(session_key__in=keys).delete()
    cast(Any, user)._partnerhub_sessions_ended = len(keys)
    return len(keys)


def _details(user: User, **extra: Any) -> dict[str, Any]:
    return {"user_id": user.pk, "username": user.get_username(), **extra}
