from django.urls import path

from letters import views

app_name = "letters"

# The organiser workspace. Every URL with a <slug> answers 404 to non-members
# (tests/letters/test_permissions.py walks them all).
_letter = "workspace/letters/<slug:slug>/"
urlpatterns = [
    path("workspace/", views.dashboard, name="dashboard"),
    path("workspace/new/", views.create, name="create"),
    path("workspace/team/join/<str:token>/", views.team_accept, name="team-accept"),
    path(_letter, views.detail, name="detail"),
    path(f"{_letter}edit/", views.edit, name="edit"),
    path(f"{_letter}settings/", views.settings, name="settings"),
    path(f"{_letter}revisions/", views.revisions, name="revisions"),
    path(
        f"{_letter}revisions/publish/",
        views.revision_publish,
        name="revision-publish",
    ),
    path(f"{_letter}revisions/<int:number>/", views.revision, name="revision"),
    path(f"{_letter}diff/", views.diff, name="diff"),
    path(f"{_letter}circulate/", views.start_circulating, name="start-circulating"),
    path(f"{_letter}publish/", views.publish, name="publish"),
    path(f"{_letter}close/", views.close, name="close"),
    path(f"{_letter}reopen/", views.reopen, name="reopen"),
    path(f"{_letter}team/", views.team, name="team"),
    path(f"{_letter}team/<int:pk>/role/", views.member_role, name="member-role"),
    path(f"{_letter}team/<int:pk>/remove/", views.member_remove, name="member-remove"),
    path(
        f"{_letter}team/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path(f"{_letter}activity/", views.activity, name="activity"),
]
