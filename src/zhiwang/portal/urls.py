from django.urls import path

from zhiwang.portal import selfservice_views, views

app_name = "portal"
urlpatterns = [
    path("", views.report_view, name="report"),
    path("reported/<str:code>/", views.reported_view, name="reported"),
    path("track/", views.track_view, name="track"),
    path("track/<str:code>/", views.tracked_view, name="tracked"),
    path("track/<str:code>/rate/", views.rate_view, name="rate"),
    path("self-service/", selfservice_views.selfservice_view, name="selfservice"),
    path("self-service/residence/", selfservice_views.residence_view, name="declare_residence"),
    path("self-service/tenancy/", selfservice_views.tenancy_view, name="declare_tenancy"),
    path("self-service/house-code/", selfservice_views.house_code_view, name="house_code"),
    path("self-service/declared/<str:code>/", selfservice_views.declared_view, name="declared"),
    path("self-service/follow/", selfservice_views.follow_view, name="follow"),
    path("self-service/follow/<str:code>/", selfservice_views.declaration_view, name="declaration"),
]
