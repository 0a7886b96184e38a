from django.urls import path

from zhiwang.grids import views

app_name = "grids"
urlpatterns = [
    path("", views.map_view, name="map"),
    path("grids/<int:grid_id>/children.geojson", views.children_geojson, name="children_geojson"),
    path("grids/<int:grid_id>/cases.json", views.cases_json, name="cases_json"),
    path("grids/unstaffed/", views.unstaffed_view, name="unstaffed"),
]
