from django.urls import path

from signers.network import views

app_name = "network"
_coalition = "workspace/coalitions/<slug:coalition>/"
urlpatterns = [
    path(f"{_coalition}map/", views.network_map, name="map"),
    path(f"{_coalition}map/data.json", views.network_map_data, name="map-data"),
    path(
        f"{_coalition}map/network.graphml",
        views.network_export,
        {"kind": "graphml"},
        name="graphml",
    ),
    path(
        f"{_coalition}map/network.gexf",
        views.network_export,
        {"kind": "gexf"},
        name="gexf",
    ),
    path(
        f"{_coalition}map/nodes.csv",
        views.network_export,
        {"kind": "nodes"},
        name="nodes-csv",
    ),
    path(
        f"{_coalition}map/edges.csv",
        views.network_export,
        {"kind": "edges"},
        name="edges-csv",
    ),
    path(f"{_coalition}review/", views.review, name="review"),
    # Public, when the coalition opted in.
    path("coalitions/<slug:slug>/", views.coalition_public, name="public"),
]
