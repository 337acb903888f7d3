from django.urls import path

from signers import views

app_name = "signers"
urlpatterns = [
    # Signer-facing pages opened from emailed links (the signing work).
    path("invite/<str:token>/", views.not_built, name="invitation"),
    path("invite/<str:token>/decline/", views.not_built, name="decline"),
    path("letters/<slug:slug>/join/", views.not_built, name="join"),
    path("s/confirm/<str:token>/", views.not_built, name="confirm"),
    path("s/withdraw/<str:token>/", views.not_built, name="withdraw"),
    path("s/edit/<str:token>/", views.not_built, name="edit"),
    path("s/reconfirm/<str:token>/", views.not_built, name="reconfirm"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    # Organiser workspace tabs.
    path(
        "workspace/letters/<slug:slug>/signers/",
        views.not_built,
        name="letter-signatures",
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
]
