from django.urls import path

from signers.views import (
    communications,
    logos,
    organiser,
    outreach,
    prospects,
    public,
    reissue,
    self_service,
    signing,
    triage,
)

app_name = "signers"
_letter = "workspace/letters/<slug:slug>/"
# The public side of a letter (signers/views/public.py). First: the public page
# is the busiest address of the site, and Django tries the patterns in order.
urlpatterns = [
    path("letters/<slug:slug>/", public.public, name="public"),
    path("letters/<slug:slug>/letter.pdf", public.pdf_download, name="pdf-download"),
    path("letters/<slug:slug>/signers.csv", public.signers_csv, name="signers-csv"),
    path("letters/<slug:slug>/embed/", public.embed, name="embed"),
    path("logos/<str:name>", logos.logo, name="logo"),
    path(
        "workspace/letters/<slug:slug>/export.csv",
        public.export_csv,
        name="export-csv",
    ),
]

# Signer-facing pages opened from emailed links (the signing work).
urlpatterns += [
    path("invite/<str:token>/", signing.invitation, name="invitation"),
    path(
        "invite/<str:token>/opened/",
        signing.invitation_opened,
        name="invitation-opened",
    ),
    path("invite/<str:token>/decline/", signing.decline, name="decline"),
    path("letters/<slug:slug>/join/", signing.join, name="join"),
    path("letters/<slug:slug>/join/sent/", signing.join_sent, name="join-sent"),
    path("letters/<slug:slug>/join/status/", signing.join_status, name="join-status"),
    path(
        "letters/<slug:slug>/join/status/sent/",
        signing.join_status_sent,
        name="join-status-sent",
    ),
    path("s/confirm/<str:token>/", signing.confirm, name="confirm"),
    path("s/withdraw/<str:token>/", signing.withdraw, name="withdraw"),
    path("s/edit/<str:token>/", self_service.edit, name="edit"),
    path("s/my-data/<str:token>/", self_service.my_data, name="my-data"),
    path("s/suggest/<str:token>/", self_service.suggest, name="suggest"),
    path("s/reconfirm/<str:token>/", signing.reconfirm, name="reconfirm"),
    path("s/thanks/<str:token>/", signing.thanks, name="thanks"),
    path("u/<str:token>/", outreach.unsubscribe, name="unsubscribe"),
    path("c/rsvp/<str:token>/", communications.call_rsvp, name="call-rsvp"),
    path("s/reissue/<str:token>/", reissue.reissue_opt_in, name="reissue-opt-in"),
    # Organiser workspace tabs.
    path(
        "workspace/letters/<slug:slug>/signers/",
        organiser.letter_signatures,
        name="letter-signatures",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/import/",
        organiser.signature_import,
        name="signature-import",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/import/<int:job>/",
        organiser.signature_import_job,
        name="signature-import-job",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/<int:pk>/",
        organiser.signature_detail,
        name="signature-detail",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/<int:pk>/personal-data.json",
        organiser.signature_export,
        name="signature-export",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/<int:pk>/logo/",
        logos.signature_logo,
        name="signature-logo",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/<int:pk>/logo-file/",
        logos.signature_logo_file,
        name="signature-logo-file",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/<int:pk>/<str:action>/",
        organiser.signature_act,
        name="signature-act",
    ),
    # Outreach: prospects, invitations and reminders.
    path("workspace/letters/<slug:slug>/outreach/", outreach.outreach, name="outreach"),
    path(
        "workspace/letters/<slug:slug>/outreach/prospects/new/",
        outreach.prospect_add,
        name="prospect-add",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/prospects/bulk/",
        prospects.prospects_bulk,
        name="prospects-bulk",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/prospects/<int:pk>/",
        outreach.prospect_edit,
        name="prospect-edit",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/import/",
        outreach.prospect_import,
        name="prospect-import",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/prospects.csv",
        outreach.prospect_export,
        name="prospect-export",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/invite/compose/",
        outreach.outreach_compose,
        name="outreach-compose",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/invite/",
        outreach.outreach_invite,
        name="outreach-invite",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/batches/<int:pk>/",
        outreach.outreach_batch,
        name="outreach-batch",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/retry/",
        outreach.outreach_retry,
        name="outreach-retry",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/schedule/",
        outreach.outreach_schedule,
        name="outreach-schedule",
    ),
    # Coalition communications: updates, the signer list, calls, re-issue.
    path(f"{_letter}updates/", communications.updates, name="updates"),
    path(f"{_letter}updates/new/", communications.update_new, name="update-new"),
    path(
        f"{_letter}updates/digest/", communications.update_digest, name="update-digest"
    ),
    path(
        f"{_letter}updates/<int:pk>/",
        communications.update_detail,
        name="update-detail",
    ),
    path(
        f"{_letter}updates/<int:pk>/edit/",
        communications.update_edit,
        name="update-edit",
    ),
    path(
        f"{_letter}updates/<int:pk>/test/",
        communications.update_test,
        name="update-test",
    ),
    path(
        f"{_letter}updates/<int:pk>/send/",
        communications.update_send,
        name="update-send",
    ),
    path(f"{_letter}calls/", communications.calls, name="calls"),
    path(f"{_letter}calls/new/", communications.call_new, name="call-new"),
    path(f"{_letter}calls/<int:pk>/", communications.call_detail, name="call-detail"),
    path(f"{_letter}calls/<int:pk>/edit/", communications.call_edit, name="call-edit"),
    path(
        f"{_letter}calls/<int:pk>/notes/", communications.call_notes, name="call-notes"
    ),
    path(f"{_letter}reissue/", reissue.reissue, name="reissue"),
]


# Change requests and their answers; who is emailed when someone signs.
urlpatterns += [
    path(f"{_letter}changes/", triage.change_requests, name="change-requests"),
    path(f"{_letter}changes/<int:pk>/", triage.change_request, name="change-request"),
    path(
        f"{_letter}changes/<int:pk>/accept/",
        triage.change_request_accept,
        name="change-request-accept",
    ),
    path(
        f"{_letter}changes/<int:pk>/decline/",
        triage.change_request_decline,
        name="change-request-decline",
    ),
    path(
        f"{_letter}changes/<int:pk>/reply/",
        triage.change_request_reply,
        name="change-request-reply",
    ),
    path(
        "workspace/notifications/",
        triage.notice_settings,
        name="notice-settings",
    ),
]
