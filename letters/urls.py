from django.urls import path

from letters import views

app_name = "letters"
urlpatterns = [
    path("workspace/", views.dashboard, name="dashboard"),
    path("workspace/letters/<slug:slug>/", views.detail, name="detail"),
]
