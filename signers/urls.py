from django.urls import path

from signers import views

app_name = "signers"
_letter = "workspace/letters/<slug:slug>/"
urlpatterns = [
    # Signer-facing pages opened from emailed links (the signing work).
    path("invite/<str:token>/", views.invitation, name="invitation"),
    path(
        "invite/<str:token>/opened/", views.invitation_opened, name="invitation-opened"
    ),
    path("invite/<str:token>/decline/", views.decline, name="decline"),
    path("letters/<slug:slug>/join/", views.join, name="join"),
    path("letters/<slug:slug>/join/sent/", views.join_sent, name="join-sent"),
    path("letters/<slug:slug>/join/status/", views.join_status, name="join-status"),
    path(
        "letters/<slug:slug>/join/status/sent/",
        views.join_status_sent,
        name="join-status-sent",
    ),
    path("s/confirm/<str:token>/", views.confirm, name="confirm"),
    path("s/withdraw/<str:token>/", views.withdraw, name="withdraw"),
    path("s/edit/<str:token>/", views.edit, name="edit"),
    path("s/my-data/<str:token>/", views.my_data, name="my-data"),
    path("s/suggest/<str:token>/", views.suggest, name="suggest"),
    path("s/reconfirm/<str:token>/", views.reconfirm, name="reconfirm"),
    path("s/thanks/<str:token>/", views.thanks, name="thanks"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("c/rsvp/<str:token>/", views.call_rsvp, name="call-rsvp"),
    path("s/reissue/<str:token>/", views.reissue_opt_in, name="reissue-opt-in"),
    # Organiser workspace tabs.
    path(
        "workspace/letters/<slug:slug>/signers/",
        views.letter_signatures,
        name="letter-signatures",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/import/",
        views.signature_import,
        name="signature-import",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/<int:pk>/",
        views.signature_detail,
        name="signature-detail",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/<int:pk>/personal-data.json",
        views.signature_export,
        name="signature-export",
    ),
    path(
        "workspace/letters/<slug:slug>/signers/<int:pk>/<str:action>/",
        views.signature_act,
        name="signature-act",
    ),
    # Outreach: prospects, invitations and reminders.
    path("workspace/letters/<slug:slug>/outreach/", views.outreach, name="outreach"),
    path(
        "workspace/letters/<slug:slug>/outreach/prospects/new/",
        views.prospect_add,
        name="prospect-add",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/prospects/<int:pk>/",
        views.prospect_edit,
        name="prospect-edit",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/import/",
        views.prospect_import,
        name="prospect-import",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/prospects.csv",
        views.prospect_export,
        name="prospect-export",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/invite/",
        views.outreach_invite,
        name="outreach-invite",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/batches/<int:pk>/",
        views.outreach_batch,
        name="outreach-batch",
    ),
    path(
        "workspace/letters/<slug:slug>/outreach/schedule/",
        views.outreach_schedule,
        name="outreach-schedule",
    ),
    # Coalition communications: updates, the signer list, calls, re-issue.
    path(f"{_letter}updates/", views.updates, name="updates"),
    path(f"{_letter}updates/new/", views.update_new, name="update-new"),
    path(f"{_letter}updates/digest/", views.update_digest, name="update-digest"),
    path(f"{_letter}updates/<int:pk>/", views.update_detail, name="update-detail"),
    path(f"{_letter}updates/<int:pk>/edit/", views.update_edit, name="update-edit"),
    path(f"{_letter}updates/<int:pk>/test/", views.update_test, name="update-test"),
    path(f"{_letter}updates/<int:pk>/send/", views.update_send, name="update-send"),
    path(f"{_letter}calls/", views.calls, name="calls"),
    path(f"{_letter}calls/new/", views.call_new, name="call-new"),
    path(f"{_letter}calls/<int:pk>/", views.call_detail, name="call-detail"),
    path(f"{_letter}calls/<int:pk>/edit/", views.call_edit, name="call-edit"),
    path(f"{_letter}calls/<int:pk>/notes/", views.call_notes, name="call-notes"),
    path(f"{_letter}reissue/", views.reissue, name="reissue"),
]
