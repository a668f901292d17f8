"""The API token list in its two HTML generations (facts sheet §6): cards (2.505+) and list items."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from html import escape

from .tokens import HashedToken, TokenStats

PROPERTY = "descriptorByName/jenkins.security.ApiTokenProperty"
CONFIRM_REVOKE = ("Are you sure you want to revoke this token? Applications that are using it will be not able "
                  "to connect anymore.")
LEGACY_WARNING = ("We strongly recommend that you revoke this legacy token and replace it with a newly generated "
                  "token for increased security.")


@dataclass(frozen=True)
class TokenRow:
    token: HashedToken
    stats: TokenStats


@dataclass(frozen=True)
class TokenListView:
    rows: list[TokenRow]  # sorted by lower-cased name, as getTokenListSortedByName
    property_url: str  # e.g. /user/alice/descriptorByName/jenkins.security.ApiTokenProperty
    stats_enabled: bool
    can_generate: bool
    now: datetime
    expiring_tokens: bool  # 2.548+: expiration shown instead of creation age
    about_to_expire_days: int
    legacy_value: str | None  # None = no legacy section; else what the readonly box shows


def _days_since(moment: datetime | None, now: datetime) -> int:
    return 0 if moment is None else max(0, (now - moment).days)


def _legacy_section(view: TokenListView) -> str:
    if view.legacy_value is None:
        return ""
    return ('<div class="jenkins-form-item tr advancedBody"><div class="jenkins-form-label help-sibling">'
            'Show Legacy API Token</div><div class="setting-main">'
            f'<input id="apiToken" name="_.apiToken" readonly="readonly" class="jenkins-input" '
            f'value="{escape(view.legacy_value)}"></div>'
            f'<button type="button" class="jenkins-button validate-button" data-validate-button-method="changeToken"'
            f' data-target-url="{view.property_url}/changeToken">Change API Token</button></div>')


# -- 2.505 and later: token cards ----------------------------------------------------------

def cards(view: TokenListView) -> str:
    parts = ['<div class="jenkins-section"><h2 class="jenkins-section__title">API Token</h2>',
             '<div class="token-list">']
    if view.can_generate:
        parts.append(_template_card(view.property_url))
    if not view.rows:
        parts.append('<div class="token-list-item token-list-empty-item"><div class="list-empty-message">'
                     "There are no registered tokens for this user.</div></div>")
    parts.extend(_card(row, view) for row in view.rows)
    parts.append("</div>")
    if view.can_generate:
        parts.append(f'<button type="button" class="jenkins-button api-token-property-add" '
                     f'data-target-url="{view.property_url}/generateNewToken">Add new token</button>')
    parts.append(_legacy_section(view))
    parts.append("</div>")
    return "".join(parts)


def _template_card(property_url: str) -> str:
    """Hidden card the JS clones for a new token; it has no id and is not a token."""
    return ('<div class="jenkins-hidden" id="api-token-row-template"><div class="token-card">'
            '<div class="token-card-inner"><div class="token-card__title"><span class="token-name"></span></div>'
            '<div class="token-stats"><span class="api-token-new-expiration token-creation"></span>'
            '<span class="token-last-used">Never used</span></div></div><div class="token-controls">'
            '<button tooltip="Show" type="button" class="api-token-property-token-show"></button>'
            f'<button data-target-url="{property_url}/rename" type="button" '
            'class="api-token-property-token-rename"></button>'
            f'<button data-target-url="{property_url}/revoke" type="button" '
            'class="api-token-property-token-revoke"></button></div></div></div>')


def _card(row: TokenRow, view: TokenListView) -> str:
    token = row.token
    uuid = escape(token.uuid)
    legacy = "legacy-token" if token.legacy else ""
    warning = (f'<span class="token-legacy-warning" tooltip="{escape(LEGACY_WARNING)}">Legacy</span>'
               if token.legacy else "")
    return (f'<div id="{uuid}" class="token-card {legacy}"><div class="token-card-inner">'
            f'<div tooltip="" class="token-card__title "><span class="token-name">{escape(token.name)}</span>'
            f"{warning}</div><div class=\"token-stats\">{_card_age(token, view)}{_card_last_used(row, view)}"
            '</div></div><div class="token-controls">'
            f'<button data-target-url="{view.property_url}/rename" type="button" '
            'class="jenkins-button api-token-property-token-rename"></button>'
            f'<button data-confirm-title="Revoke token" data-confirm="{escape(CONFIRM_REVOKE)}" '
            f'data-target-url="{view.property_url}/revoke" type="button" '
            f'class="jenkins-button api-token-property-token-revoke" data-token-uuid="{uuid}"></button>'
            "</div></div>")


def _card_age(token: HashedToken, view: TokenListView) -> str:
    if view.expiring_tokens:
        # (inferred) wording for expiring tokens; only the never-expiring text was seen rendered
        expiry = token.expiration_date
        today: date = view.now.date()
        if expiry is None:
            return '<span class="warning token-creation">This token does not expire</span>'
        if expiry < today:
            return f'<span class="error token-creation">Expired on {expiry.isoformat()}</span>'
        css = "warning " if (expiry - today).days <= view.about_to_expire_days else ""
        return f'<span class="{css}token-creation">Expires on {expiry.isoformat()}</span>'
    if token.creation_date is None:
        return '<span class="token-creation">Unknown</span>'
    return f'<span class="token-creation">Created {_days_since(token.creation_date, view.now)} day(s) ago</span>'


def _card_last_used(row: TokenRow, view: TokenListView) -> str:
    if not view.stats_enabled:
        return '<span class="token-last-used">No statistics available</span>'
    if row.stats.use_counter <= 0:
        return '<span class="token-last-used">Never used</span>'
    days = _days_since(row.stats.last_use_date, view.now)
    when = "Last used today" if days == 0 else f"Last used {days} day(s) ago"
    return (f'<span class="token-last-used"><span class="jenkins-!-text-color-secondary">{when}</span>'
            f'<span class="token-use-counter">{row.stats.use_counter}</span></span>')


# -- 2.129 to 2.504: f:repeatable list items ---------------------------------------------

def list_items(view: TokenListView) -> str:
    hidden = " hidden-message" if view.rows else ""
    parts = ['<div class="jenkins-form-item"><div class="jenkins-form-label">Current token(s)</div>',
             '<div class="token-list ignore-dirty-panel">',
             f'<div class="token-list-item token-list-empty-item{hidden}"><div class="list-empty-message">'
             "There are no registered tokens for this user.</div></div>",
             '<div class="repeated-container">']
    parts.extend(_list_item(row, view) for row in view.rows)
    if view.can_generate:
        parts.append('<div class="repeatable-insertion-point"></div><div class="repeatable-add">'
                     '<button type="button" class="jenkins-button repeatable-add">Add new Token</button></div>')
    parts.append("</div></div></div>")
    parts.append(_legacy_section(view))
    return "".join(parts)


def _list_item(row: TokenRow, view: TokenListView) -> str:
    token = row.token
    legacy = " legacy-token" if token.legacy else ""
    age = _days_since(token.creation_date, view.now)
    age_class = "age-argh" if age > 360 else "age-mmmh" if age > 180 else "age-ok"
    if token.creation_date is None:
        creation = (f'<span class="token-creation {age_class}" title="There is no creation date for that token">'
                    "Unknown</span>")
    else:
        creation = (f'<span class="token-creation {age_class}" title="{escape(token.creation_date.isoformat())}">'
                    f"Created {age} day(s) ago</span>")
    return (f'<div class="repeated-chunk" name="tokenStore"><div class="token-list-item token-list-existing-item '
            f'force-dirty-panel{legacy}"><input type="hidden" class="token-uuid-input" name="tokenUuid" '
            f'value="{escape(token.uuid)}" /><input name="tokenName" type="text" class="jenkins-input '
            f'setting-input token-name" value="{escape(token.name)}" />{creation}'
            f'<span class="to-right">{_list_usage(row, view)}'
            '<a href="#" onclick="return revokeToken(this)" class="jenkins-button jenkins-button--tertiary '
            'jenkins-!-destructive-color token-revoke" data-message-if-legacy-revoked="The legacy token has been '
            f'revoked" data-confirm="{escape(CONFIRM_REVOKE)}" data-target-url="{view.property_url}/revoke">'
            '<span title="Revoke this token">Revoke</span></a></span></div></div>')


def _list_usage(row: TokenRow, view: TokenListView) -> str:
    if not view.stats_enabled:
        return ('<span class="no-statistics" title="Token usage statistics are currently disabled">'
                "No statistics available</span>")
    stats = row.stats
    if stats.use_counter <= 0:
        return ('<span class="token-use-counter"><strong title="We strongly recommend that you revoke tokens '
                'which you do not plan to use">Never used</strong></span>')
    if stats.last_use_date is None:
        return '<span class="token-use-counter" title="There is no last use date for that token">Never used</span>'
    days = _days_since(stats.last_use_date, view.now)
    return (f'<span class="token-use-counter" title="{escape(stats.last_use_date.isoformat())}">'
            f"Used <b>{stats.use_counter}</b> time(s), last time was <b>{days}</b> day(s) ago</span>")
