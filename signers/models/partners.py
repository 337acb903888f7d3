"""The coalition's partner directory: partners, their names, domains, tags, contacts,
agreements, and the proposed matches of prospects and signatures to them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from coalition.models import Coalition
from signers.models.outreach import Prospect
from signers.models.signatures import Signature


class Tag(models.Model):
    """An issue area partners work on ("housing", "climate"), per coalition."""

    coalition = models.ForeignKey(
        Coalition, on_delete=models.CASCADE, related_name="tags"
    )
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                "coalition", Lower("name"), name="tag_unique_name_per_coalition"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Partner(models.Model):
    """An organisation in a coalition's directory, across all its letters.

    Private to the coalition's members. Prospects and signatures point here only
    after an organiser confirms a match; nothing public reads this table except
    the coalition's opt-in public page, and only with ``listed_publicly``.
    """

    class Kind(models.TextChoices):
        NGO = "ngo", _("NGO or charity")
        UNION = "union", _("Trade union")
        FAITH = "faith", _("Faith group")
        BUSINESS = "business", _("Business")
        NETWORK = "network", _("Network or coalition")
        ACADEMIC = "academic", _("Academic")
        PUBLIC_BODY = "public_body", _("Public body")
        OTHER = "other", _("Other")

    class Influence(models.TextChoices):
        LOCAL = "local", _("Local")
        REGIONAL = "regional", _("Regional")
        NATIONAL = "national", _("National")
        INTERNATIONAL = "international", _("International")

    coalition = models.ForeignKey(
        Coalition, on_delete=models.CASCADE, related_name="partners"
    )
    name = models.CharField(_("name"), max_length=200)
    sort_name = models.CharField(max_length=200)
    # The duplicate keys of signers.names, as on Signature.
    normalised_name = models.CharField(max_length=200)
    skeleton_name = models.CharField(max_length=200, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    # The website's host without "www.", kept by the services for matching.
    website_domain = models.CharField(max_length=253, blank=True)
    place = models.CharField(_("place"), max_length=120, blank=True)
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.NGO
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="partners", verbose_name=_("issue areas")
    )
    members_count = models.PositiveIntegerField(_("members"), null=True, blank=True)
    staff_count = models.PositiveIntegerField(_("staff"), null=True, blank=True)
    reach = models.PositiveIntegerField(
        _("reach (people it can mobilise)"), null=True, blank=True
    )
    influence = models.CharField(
        _("level of influence"), max_length=20, choices=Influence.choices, blank=True
    )
    stakeholders = models.TextField(_("stakeholders"), blank=True)
    relationships = models.TextField(_("relationships"), blank=True)
    shared_interests = models.TextField(_("shared interests"), blank=True)
    deal_breakers = models.TextField(_("deal-breakers"), blank=True)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("relationship held by"),
    )
    # The partner agreed to be named on the coalition's public page.
    listed_publicly = models.BooleanField(
        _("may be named on the coalition's public page"), default=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_name", "id"]
        indexes = [
            models.Index(fields=["coalition", "sort_name"]),
            models.Index(fields=["coalition", "normalised_name"]),
            models.Index(fields=["coalition", "skeleton_name"]),
            models.Index(fields=["coalition", "website_domain"]),
        ]

    def __str__(self) -> str:
        return self.name


class PartnerName(models.Model):
    """Another name a partner has signed or been known under, with its keys."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="other_names"
    )
    name = models.CharField(_("name"), max_length=200)
    normalised_name = models.CharField(max_length=200, db_index=True)
    skeleton_name = models.CharField(max_length=200, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "normalised_name"],
                name="partner_name_unique_per_partner",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PartnerDomain(models.Model):
    """An email domain the partner's people write from ("example.org")."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="email_domains"
    )
    domain = models.CharField(_("email domain"), max_length=253, db_index=True)

    class Meta:
        ordering = ["domain", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "domain"], name="partner_domain_unique_per_partner"
            )
        ]

    def __str__(self) -> str:
        return self.domain


class PartnerContact(models.Model):
    """A person at a partner. Never shown outside the coalition."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    role = models.CharField(_("role"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    consent_to_contact = models.BooleanField(
        _("agreed to be contacted by the coalition"), default=False
    )
    consent_at = models.DateTimeField(_("agreed on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


def _agreement_path(instance: "Agreement", filename: str) -> str:
    # A random folder: the name of one file tells nothing about another's.
    return f"partners/agreements/{instance.partner_id}/{uuid.uuid4().hex}/{filename}"


class Agreement(models.Model):
    """What a partnership has put in writing: a short text, a file, or both."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PROPOSED = "proposed", _("Proposed")
        AGREED = "agreed", _("Agreed")
        ENDED = "ended", _("Ended")

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="agreements"
    )
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"), blank=True)
    file = models.FileField(_("file"), upload_to=_agreement_path, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    date = models.DateField(_("date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return self.title


class PartnerMatch(models.Model):
    """A proposal that a prospect or a signature is a directory partner.

    Made by the site, decided by an organiser: only confirming links the row.
    One proposal per (partner, row), so a rejected one is not proposed again.
    """

    class Reason(models.TextChoices):
        NAME = "name", _("Same name")
        LOOK_ALIKE = "look_alike", _("Look-alike name")
        OTHER_NAME = "other_name", _("One of its other names")
        DOMAIN = "domain", _("Same email or web domain")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="matches"
    )
    prospect = models.ForeignKey(
        Prospect,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="partner_matches",
    )
    signature = models.ForeignKey(
        Signature,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="partner_matches",
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.PROPOSED,
        db_index=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(prospect__isnull=False, signature__isnull=True)
                | Q(prospect__isnull=True, signature__isnull=False),
                name="partner_match_one_row",
            ),
            models.UniqueConstraint(
                fields=["partner", "prospect"],
                condition=Q(prospect__isnull=False),
                name="partner_match_once_per_prospect",
            ),
            models.UniqueConstraint(
                fields=["partner", "signature"],
                condition=Q(signature__isnull=False),
                name="partner_match_once_per_signature",
            ),
        ]

    def __str__(self) -> str:
        row = (
            f"prospect {self.prospect_id}"
            if self.prospect_id
            else f"signature {self.signature_id}"
        )
        return f"{row} as partner {self.partner_id} ({self.status})"
