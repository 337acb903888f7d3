from django.urls import path

from signers import views

app_name = "signers"
urlpatterns = [
    # Signer-facing pages opened from emailed links (the signing work).
    path("invite/<str:token>/", views.invitation, name="invitation"),
    path("invite/<str:token>/decline/", views.decline, name="decline"),
    path("letters/<slug:slug>/join/", views.join, name="join"),
    path("letters/<slug:slug>/join/sent/", views.join_sent, name="join-sent"),
    path("s/confirm/<str:token>/", views.confirm, name="confirm"),
    path("s/withdraw/<str:token>/", views.withdraw, name="withdraw"),
    path("s/edit/<str:token>/", views.edit, name="edit"),
    path("s/my-data/<str:token>/", views.my_data, name="my-data"),
    path("s/suggest/<str:token>/", views.suggest, name="suggest"),
    path("s/reconfirm/<str:token>/", views.reconfirm, name="reconfirm"),
    path("s/thanks/<str:token>/", views.thanks, name="thanks"),
    path("u/<str:token>/", views.not_built, name="unsubscribe"),
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
    path("workspace/letters/<slug:slug>/outreach/", views.not_built, name="outreach"),
]
