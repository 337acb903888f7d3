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
    path("u/<str:token>/", views.not_built, name="unsubscribe"),
    # Organiser workspace tabs.
    path(
        "workspace/letters/<slug:slug>/signers/",
        views.not_built,
        name="letter-signatures",
    ),
    path("workspace/letters/<slug:slug>/outreach/", views.not_built, name="outreach"),
]
