from django.urls import path

from signers.partners import views

app_name = "partners"
# Every URL answers 404 to anyone outside the coalition (tests/coalition/
# test_url_sweep.py walks them all).
_partners = "workspace/coalitions/<slug:coalition>/partners/"
_partner = f"{_partners}<int:partner>/"
urlpatterns = [
    # On a letter's outreach page: its next prospects from the directory.
    path(
        "workspace/letters/<slug:slug>/outreach/directory/",
        views.invite_from_directory,
        name="invite",
    ),
    path(_partners, views.partner_list, name="list"),
    path(f"{_partners}new/", views.partner_create, name="create"),
    path(f"{_partners}export.csv", views.partner_csv, name="csv"),
    path(f"{_partners}matches/", views.match_list, name="matches"),
    path(f"{_partners}matches/scan/", views.match_scan, name="match-scan"),
    path(
        f"{_partners}matches/<int:match>/<slug:answer>/",
        views.match_answer,
        name="match-answer",
    ),
    path(f"{_partners}merge/", views.merge, name="merge"),
    path(_partner, views.partner_detail, name="detail"),
    path(f"{_partner}edit/", views.partner_edit, name="edit"),
    path(f"{_partner}delete/", views.partner_delete, name="delete"),
    path(f"{_partner}contacts/", views.contact_add, name="contact-add"),
    path(f"{_partner}contacts/<int:contact>/", views.contact_edit, name="contact-edit"),
    path(
        f"{_partner}contacts/<int:contact>/delete/",
        views.contact_delete,
        name="contact-delete",
    ),
    path(f"{_partner}agreements/new/", views.agreement_edit, name="agreement-add"),
    path(
        f"{_partner}agreements/<int:agreement>/",
        views.agreement_edit,
        name="agreement-edit",
    ),
    path(
        f"{_partner}agreements/<int:agreement>/delete/",
        views.agreement_delete,
        name="agreement-delete",
    ),
    path(
        f"{_partner}agreements/<int:agreement>/file/",
        views.agreement_file,
        name="agreement-file",
    ),
]
