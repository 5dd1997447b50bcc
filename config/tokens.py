"""API tokens (django-rest-knox): issue, list and revoke a user's own tokens.

Only a hash of each key is stored; a key is shown once, when it is made, and expires after
API_TOKEN_TTL_DAYS. A token is named by `id` (the start of its hash, which reveals nothing of the
key) and shown by `prefix` (the key's first characters, so its owner can tell which key it is).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.contrib.auth import authenticate, user_logged_in
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet.booking.choices import AuditAction, AuditObject
from fleet.booking.services import audit
from fleet.errors import Conflict, Invalid

ID_LENGTH = 16
PREFIX_LENGTH = 8


def token_id(token: AuthToken) -> str:
    """The token's public name: the start of its hash."""
    return token.digest[:ID_LENGTH]


def token_prefix(token: AuthToken) -> str:
    """The first characters of the key, as its owner sees them."""
    return token.token_key[:PREFIX_LENGTH]


def _drop_expired(user: AbstractBaseUser) -> None:
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()


def active_tokens(user: AbstractBaseUser) -> QuerySet[AuthToken]:
    """The user's tokens that still work, newest first."""
    now = timezone.now()
    return AuthToken.objects.filter(user=user, expiry__gte=now).order_by("-created")


@transaction.atomic
def issue_token(user: AbstractBaseUser) -> tuple[AuthToken, str]:
    """A new token for `user`: the row and the key, which is never readable again."""
    _drop_expired(user)
    limit = knox_settings.TOKEN_LIMIT_PER_USER
    if limit is not None and active_tokens(user).count() >= limit:
        raise Conflict(
            f"You already have {limit} API tokens, the most allowed "
            "(API_TOKEN_LIMIT_PER_USER): revoke one you no longer use, then try again."
        )
    token, key = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
    _audit(AuditAction.TOKEN_ISSUE, user, token, {"expiry": (None, token.expiry)})
    return token, key


def _audit(action: AuditAction, user: AbstractBaseUser, token: AuthToken, changes: dict) -> None:
    """An audit entry naming the token by its id (never its key or the key's first characters)."""
    label = f"API token {token_id(token)} of {user.get_username()}"
    about = (AuditObject.TOKEN, token_id(token), label)
    audit.record(action, user, label, changes=changes, about=about)


def revoke_token(user: AbstractBaseUser, ident: str) -> bool:
    """Delete one of the user's own tokens, named by its id; it stops working at once.

    False when the user has no token of that id.
    """
    if not re.fullmatch(rf"[0-9a-f]{{{ID_LENGTH}}}", ident):
        return False
    with transaction.atomic():
        tokens = AuthToken.objects.filter(user=user, digest__startswith=ident)
        for token in tokens:
            _audit(AuditAction.TOKEN_REVOKE, user, token, {"expiry": (token.expiry, None)})
        deleted, _ = tokens.delete()
    return bool(deleted)


class CredentialsSerializer(serializers.Serializer):
    """A username and password, as form fields or JSON."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    """One API token, without its key."""

    id = serializers.SerializerMethodField()
    prefix = serializers.SerializerMethodField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField()
    current = serializers.SerializerMethodField(
        help_text="True for the token that authenticated this request."
    )

    def get_id(self, token: AuthToken) -> str:
        return token_id(token)

    def get_prefix(self, token: AuthToken) -> str:
        return token_prefix(token)

    def get_current(self, token: AuthToken) -> bool:
        request = self.context.get("request")
        auth = getattr(request, "auth", None)
        return isinstance(auth, AuthToken) and auth.digest == token.digest


def _iso(value: datetime) -> str:
    return serializers.DateTimeField().to_representation(value)


class ObtainTokenView(APIView):
    """POST username and password: a new API token (`token`, shown once) and its `expiry`.

    Repeated wrong passwords lock the username out from that address for a while (429).
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            200: inline_serializer(
                "IssuedToken",
                {
                    "token": serializers.CharField(
                        help_text="Send as `Authorization: Token <key>`."
                    ),
                    "expiry": serializers.DateTimeField(),
                    "id": serializers.CharField(),
                    "prefix": serializers.CharField(),
                },
            ),
            400: OpenApiResponse(description="Missing fields, or a wrong username or password."),
            409: OpenApiResponse(description="The user has the most tokens allowed."),
            429: OpenApiResponse(description="Too many failed sign-ins, or too many requests."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        form = CredentialsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        # The Django request, so that the lockout's bookkeeping reaches its middleware.
        django_request = request._request
        user = authenticate(
            django_request,
            username=form.validated_data["username"],
            password=form.validated_data["password"],
        )
        if user is None:
            raise Invalid("Wrong username or password.", field="password")
        token, key = issue_token(user)
        user_logged_in.send(sender=user.__class__, request=django_request, user=user)
        return Response(
            {
                "token": key,
                "expiry": _iso(token.expiry),
                "id": token_id(token),
                "prefix": token_prefix(token),
            }
        )


class TokenListView(generics.ListAPIView):
    """The signed-in user's API tokens that still work (never their keys)."""

    serializer_class = TokenSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[AuthToken]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return AuthToken.objects.none()
        return active_tokens(self.request.user)  # type: ignore[arg-type]  # IsAuthenticated


class TokenRevokeView(APIView):
    """DELETE one of your own tokens by id; it stops working at once."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={204: None, 404: OpenApiResponse(description="No such token of yours.")},
    )
    def delete(self, request: Request, ident: str) -> Response:
        if not revoke_token(request.user, ident):  # type: ignore[arg-type]  # IsAuthenticated
            raise NotFound(f"You have no API token with the id {ident!r}.")
        return Response(status=status.HTTP_204_NO_CONTENT)
