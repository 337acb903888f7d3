from django.urls import path

from letters import public_views, views

app_name = "letters"
urlpatterns = [
    path("workspace/", views.dashboard, name="dashboard"),
    path("workspace/letters/<slug:slug>/", views.detail, name="detail"),
]

# The public side of a letter (letters/public_views.py).
urlpatterns += [
    path("letters/<slug:slug>/", public_views.public, name="public"),
    path(
        "letters/<slug:slug>/letter.pdf", public_views.pdf_download, name="pdf-download"
    ),
    path(
        "letters/<slug:slug>/signers.csv", public_views.signers_csv, name="signers-csv"
    ),
    path("letters/<slug:slug>/embed/", public_views.embed, name="embed"),
    path(
        "workspace/letters/<slug:slug>/export.csv",
        public_views.export_csv,
        name="export-csv",
    ),
]
