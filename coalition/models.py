from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailUserManager(UserManager["User"]):
    """Users are identified by email; there is no username."""

    def _create_user_by_email(
        self, email: str, password: str | None, **extra: Any
    ) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user_by_email(email, password, **extra)

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user_by_email(email, password, **extra)


class User(AbstractUser):
    """An organiser (or site staff). Signers are not users: they act by link."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(_("name"), max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[EmailUserManager] = EmailUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.email


class Heartbeat(models.Model):
    """The last time a periodic process proved it was alive (beat, for /healthz)."""

    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at.isoformat()}"


# --- Coalitions: the workspace that letters and the partner directory share ------


class CoalitionQuerySet(models.QuerySet["Coalition"]):
    def for_user(self, user: Any) -> "CoalitionQuerySet":
        """Coalitions the user belongs to; every coalition URL is scoped by this."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(members__user=user)


class Coalition(models.Model):
    """A group of organisers, their letters and their partner directory.

    Private to its members, except the opt-in public page (``is_public``).
    """

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_public = models.BooleanField(
        _("show a public page of our published letters"), default=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CoalitionQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("coalition")
        verbose_name_plural = _("coalitions")

    def __str__(self) -> str:
        return self.name


class CoalitionMember(models.Model):
    """A user's place in a coalition: the role grants access to all its letters."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ORGANISER = "organiser", _("Organiser")
        VIEWER = "viewer", _("Viewer")

    coalition = models.ForeignKey(
        Coalition, on_delete=models.CASCADE, related_name="members"
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="coalition_memberships"
    )
    role = models.CharField(
        _("role"), max_length=10, choices=Role.choices, default=Role.ORGANISER
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["coalition", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["coalition", "user"], name="coalition_member_unique_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.coalition}"

    @property
    def can_edit(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ORGANISER)

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


class CoalitionEvent(models.Model):
    """Who changed a coalition's members, settings or partner directory, and
    when. Append-only; a letter's own changes go to its log instead."""

    coalition = models.ForeignKey(
        Coalition, on_delete=models.CASCADE, related_name="events"
    )
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=50)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} in {self.coalition_id} by {self.actor_id}"
