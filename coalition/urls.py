from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from coalition import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Development email (DEBUG only; 404 otherwise).
    path("dev/emails/", views.dev_email_list, name="dev-email-list"),
    path("dev/emails/<str:email_id>/", views.dev_email_detail, name="dev-email-detail"),
    path(
        "dev/emails/<str:email_id>/html/", views.dev_email_html, name="dev-email-html"
    ),
    path(
        "favicon.ico",
        RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.svg", permanent=True),
    ),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    # The signers' URLs first: they hold the public letter page (see there).
    path("", include("signers.urls")),
    path("", include("coalition.coalitions.urls")),
    path("", include("letters.urls")),
    path("", include("signers.partners.urls")),
    path("", include("signers.network.urls")),
]

handler404 = "coalition.views.page_not_found"
handler403 = "coalition.views.permission_denied"
handler500 = "coalition.views.server_error"
