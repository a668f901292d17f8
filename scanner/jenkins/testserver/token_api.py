"""ApiTokenProperty.DescriptorImpl web methods (facts sheet §4) and the legacy-token admin monitor."""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Callable

from . import pages
from . import responses as rs
from .auth import ADMINISTER, Auth
from .context import Ctx
from .users import User, same_id
from .wire import Response

Endpoint = Callable[[Ctx, User], Response]


class PastExpiration(ValueError):
    pass


def short_date(value: date) -> str:
    """FormatStyle.SHORT in the en-US locale: M/d/yy."""
    return f"{value.month}/{value.day}/{value.year % 100:02d}"


def expiration_from(duration: str | None, custom: str | None, today: date) -> date | None:
    """getExpirationDate: '' or 'never' -> none; N -> today+N days; 'custom' -> tokenExpiration."""
    choice = (duration or "").strip()
    if choice in ("", "never"):
        return None
    expiry = date.fromisoformat((custom or "").strip()) if choice == "custom" else today + timedelta(days=int(choice))
    if expiry < today:
        raise PastExpiration("Expiration date is in the past.")
    return expiry


def can_generate(ctx: Ctx, owner: User) -> bool:
    """hasCurrentUserRightToGenerateNewToken: only the user, unless adminCanGenerateNewTokens."""
    if ctx.options.admin_can_generate_new_tokens and ctx.authorizer.has(ctx.auth, ADMINISTER):
        return True
    auth: Auth = ctx.auth
    return auth.user is not None and same_id(auth.user.id, owner.id)


def _token_name(ctx: Ctx) -> str:
    name = ctx.req.param("newTokenName")
    return name if name and name.strip() else ctx.state.default_token_name()


def _expiry(ctx: Ctx) -> date | None:
    if not ctx.options.has_expiring_tokens:
        return None
    return expiration_from(ctx.req.param("expirationDuration"), ctx.req.param("tokenExpiration"), ctx.state.today())


def _expiry_fields(ctx: Ctx, expiry: date | None) -> dict:
    if not ctx.options.has_expiring_tokens:
        return {}
    soon = expiry is not None and (expiry - ctx.state.today()).days <= ctx.options.about_to_expire_days
    return {"expirationDate": "never" if expiry is None else short_date(expiry), "aboutToExpire": soon}


def _server_error(ctx: Ctx) -> Response:
    """(inferred) An uncaught exception in a web method ends as a 500."""
    return rs.container_error(500, "Server Error", ctx.req.uri)


def generate_new_token(ctx: Ctx, owner: User) -> Response:
    if not can_generate(ctx, owner):
        return rs.empty(403)
    try:
        expiry = _expiry(ctx)
    except PastExpiration as exc:
        return rs.error_json(str(exc))
    except ValueError:
        return _server_error(ctx)
    created = ctx.state.create_token(owner.id, _token_name(ctx), expiration_date=expiry)
    data = {"tokenUuid": created.uuid, "tokenName": created.name, "tokenValue": created.value}
    return rs.ok_json({**data, **_expiry_fields(ctx, expiry)})


def add_fixed_token(ctx: Ctx, owner: User) -> Response:
    if not can_generate(ctx, owner):
        return rs.empty(403)
    try:
        expiry = _expiry(ctx)
        entry = ctx.state.add_fixed_token(owner, _token_name(ctx), ctx.req.param("newTokenPlainValue") or "", expiry)
    except PastExpiration as exc:
        return rs.error_json(str(exc))
    except ValueError:
        return _server_error(ctx)
    return rs.ok_json({"tokenUuid": entry.uuid, "tokenName": entry.name})


def rename(ctx: Ctx, owner: User) -> Response:
    ctx.authorizer.check_on_user(ctx.auth, owner, ADMINISTER)
    new_name = ctx.req.param("newName")
    token_uuid = ctx.req.param("tokenUuid")
    if not new_name or not new_name.strip():
        return rs.error_json("The name cannot be empty")
    if not token_uuid or not token_uuid.strip():
        if ctx.options.rename_blank_uuid_400:
            return rs.container_error(400, "The tokenUuid cannot be empty", ctx.req.uri)
        return rs.error_json("The tokenUuid cannot be empty")
    if not ctx.state.rename(owner, token_uuid, new_name):
        return rs.error_json("No token found, try refreshing the page")
    return rs.ok_json() if ctx.options.token_cards else rs.empty(200)


def revoke(ctx: Ctx, owner: User) -> Response:
    ctx.authorizer.check_on_user(ctx.auth, owner, ADMINISTER)
    token_uuid = ctx.req.param("tokenUuid")
    if not token_uuid or not token_uuid.strip():
        return rs.container_error(400, "The tokenUuid cannot be empty", ctx.req.uri)
    ctx.state.revoke(owner, token_uuid)  # unknown uuid: a no-op that still answers 200
    return rs.empty(200)


def revoke_all(ctx: Ctx, owner: User) -> Response:
    ctx.authorizer.check_on_user(ctx.auth, owner, ADMINISTER)
    ctx.state.revoke_all_except(owner, None)
    return rs.empty(200)


def revoke_all_except(ctx: Ctx, owner: User) -> Response:
    ctx.authorizer.check_on_user(ctx.auth, owner, ADMINISTER)
    token_uuid = ctx.req.param("tokenUuid")
    if not token_uuid or not token_uuid.strip():
        # (inferred) same blank check as revoke
        return rs.container_error(400, "The tokenUuid cannot be empty", ctx.req.uri)
    ctx.state.revoke_all_except(owner, token_uuid)  # an unknown uuid revokes everything
    return rs.empty(200)


def change_token(ctx: Ctx, owner: User) -> Response:
    """Deprecated changeToken: mints a new legacy token if the user has one or creation is enabled."""
    ctx.authorizer.check_on_user(ctx.auth, owner, ADMINISTER)
    html_type = [("Content-Type", rs.HTML_TYPE)]
    if owner.legacy_seed is None and not ctx.state.api_config.creation_of_legacy_token_enabled:
        return rs.Response(200, html_type, pages.CAPABILITY_NOT_ALLOWED.encode())
    value = ctx.state.change_legacy_token(owner)
    shown = may_see_legacy_token(ctx, owner)
    callback = json.dumps({"callback": "changeTokenCallback", "arguments": [value if shown else "Token is hidden"]},
                          separators=(",", ":"))
    return rs.Response(200, [*html_type, ("X-Jenkins-ValidateButton-Callback", callback)],
                       pages.change_token_message(shown).encode())


def may_see_legacy_token(ctx: Ctx, owner: User) -> bool:
    """hasPermissionToSeeToken: the owner, or admins with showTokenToAdmins."""
    if ctx.options.show_token_to_admins and ctx.authorizer.has(ctx.auth, ADMINISTER):
        return True
    return ctx.auth.user is not None and same_id(ctx.auth.user.id, owner.id)


def endpoints(ctx: Ctx) -> dict[str, Endpoint]:
    table: dict[str, Endpoint] = {"generateNewToken": generate_new_token, "rename": rename, "revoke": revoke,
                                  "changeToken": change_token}
    if ctx.options.has_revoke_all:
        table.update(revokeAll=revoke_all, revokeAllExcept=revoke_all_except, addFixedToken=add_fixed_token)
    return table


def dispatch(ctx: Ctx, owner: User, method: str) -> Response:
    endpoint = endpoints(ctx).get(method)
    if endpoint is None:
        return ctx.not_found()
    if endpoint is not change_token and ctx.req.method != "POST":
        return ctx.requires_post()  # @RequirePOST runs before the method's own permission check
    return endpoint(ctx, owner)


def revoke_all_selected(ctx: Ctx) -> Response:
    """LegacyApiTokenAdministrativeMonitor.doRevokeAllSelected: admins revoke legacy tokens by user+uuid."""
    if ctx.req.method != "POST":
        return ctx.requires_post()
    ctx.authorizer.check(ctx.auth, ADMINISTER)
    try:
        values = json.loads(ctx.req.body or b"{}").get("values", [])
    except (ValueError, AttributeError):
        return rs.container_error(400, "Bad Request", ctx.req.uri)
    for item in values:
        owner = ctx.state.find(str(item.get("userId", "")))
        token = owner.token(str(item.get("uuid", ""))) if owner else None
        if owner is not None and token is not None and token.legacy:
            ctx.state.revoke(owner, token.uuid)
    return rs.empty(200)
