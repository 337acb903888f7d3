from django.urls import URLPattern

app_name = "signers"
urlpatterns: list[URLPattern] = []
