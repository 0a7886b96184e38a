from django.urls import path

from zhiwang.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.report_view, name="report"),
    path("reported/<str:code>/", views.reported_view, name="reported"),
    path("track/", views.track_view, name="track"),
    path("track/<str:code>/", views.tracked_view, name="tracked"),
    path("track/<str:code>/rate/", views.rate_view, name="rate"),
]
