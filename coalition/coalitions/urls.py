from django.urls import path

from coalition.coalitions import views

app_name = "coalitions"
# Every URL with <coalition> answers 404 to non-members (tests/coalition/
# test_url_sweep.py walks them all).
_coalition = "workspace/coalitions/<slug:coalition>/"
urlpatterns = [
    path("workspace/coalitions/", views.coalition_list, name="list"),
    path(_coalition, views.coalition_detail, name="detail"),
    path(f"{_coalition}settings/", views.coalition_settings, name="settings"),
    path(f"{_coalition}members/", views.coalition_members, name="members"),
    path(f"{_coalition}activity/", views.coalition_activity, name="activity"),
    path(
        f"{_coalition}members/<int:member>/role/",
        views.coalition_member_role,
        name="member-role",
    ),
    path(
        f"{_coalition}members/<int:member>/remove/",
        views.coalition_member_remove,
        name="member-remove",
    ),
]
