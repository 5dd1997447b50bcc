"""Shared page URLs: sign in and out, API tokens (each app's pages are wired in config/urls.py)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import views_tokens

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", views_tokens.token_list, name="api-tokens-page"),
    path(
        "account/tokens/<str:ident>/revoke/",
        views_tokens.token_revoke,
        name="api-token-revoke-page",
    ),
]
