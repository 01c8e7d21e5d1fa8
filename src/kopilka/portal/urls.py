from django.urls import path

from kopilka.portal import views

app_name = "portal"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/code/", views.code, name="code"),
    path("logout/", views.logout, name="logout"),
    path("me/", views.home, name="home"),
]
