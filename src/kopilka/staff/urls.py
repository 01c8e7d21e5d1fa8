from django.urls import path

from kopilka.materials import quiz_views
from kopilka.staff import views

app_name = "staff"
urlpatterns = [
    path("", views.till, name="till"),
    path("members/<int:member_id>/", views.till_member, name="till-member"),
    path("join/", views.till_join, name="till-join"),
    path(
        "members/<int:member_id>/returns/<int:purchase_id>/",
        views.till_return,
        name="till-return",
    ),
    path("quiz/", quiz_views.quiz, name="till-quiz"),
]
