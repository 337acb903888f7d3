"""The signers app's models, one module per sub-domain.

Django finds an app's models through ``<app>.models``, so this package, unlike
the others, names what its modules hold: ``from signers.models import Signature``
stays the one way to reach a model (and the migrations' references resolve).
"""

from signers.models.communications import (
    Call,
    CallInvitation,
    Reissue,
    ReissueOptIn,
    Update,
)
from signers.models.imports import SignatureImportJob
from signers.models.notices import SigningNoticeOptOut
from signers.models.outreach import (
    SIGNATURE_EMAIL_KINDS,
    EmailKind,
    InvitationBatch,
    Prospect,
    ReminderSchedule,
    Suppression,
    default_soft_days,
)
from signers.models.partners import (
    Agreement,
    Partner,
    PartnerContact,
    PartnerDomain,
    PartnerMatch,
    PartnerName,
    Tag,
    _agreement_path,
)
from signers.models.signatures import (
    LIVE_CONDITION,
    ChangeRequest,
    Signature,
)

__all__ = [
    "LIVE_CONDITION",
    "SIGNATURE_EMAIL_KINDS",
    "Agreement",
    "Call",
    "CallInvitation",
    "ChangeRequest",
    "EmailKind",
    "InvitationBatch",
    "Partner",
    "PartnerContact",
    "PartnerDomain",
    "PartnerMatch",
    "PartnerName",
    "Prospect",
    "Reissue",
    "ReissueOptIn",
    "ReminderSchedule",
    "Signature",
    "SignatureImportJob",
    "SigningNoticeOptOut",
    "Suppression",
    "Tag",
    "Update",
    "_agreement_path",
    "default_soft_days",
]
