"""Settings: what every process is configured with (read at the edge, entrypoints/settings.py)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

Positive = Annotated[int, msgspec.Meta(ge=1)]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
STORE_FILE = "assess.sqlite3"  # the embedded store, in the data folder


def private_folder(path: Path) -> None:
    """Make a folder of the service's data (the data folder, the outbox) readable by its
    owner only (0700), if it is not already."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def folder_of(path: Path) -> None:
    """Make the folder a file of the service is named in, readable by its owner only if it
    is made now; an existing one is left as it is: the file may be named in a folder the
    service does not own (/tmp, /etc/assess), and the file itself is made 0600."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def write_private(path: Path, data: bytes) -> None:
    """Write a new file readable by its owner only (0600) from its first byte on."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


NO_MASTER_KEY = (
    "ASSESS_MASTER_KEY is not set. On PostgreSQL every process of the service needs the"
    " deployment's master key: it wraps the keys that seal personal data. Make one once with"
    " `python3 -c 'import secrets; print(secrets.token_hex(32))'`, keep it safe (without it"
    " the sealed personal data cannot be read), and give the same to every process. Nothing"
    " was written."
)


class Settings(msgspec.Struct, frozen=True):
    """Everything the processes are configured with; defaults suit the embedded mode."""

    data_dir: Path = Path("var")
    database_url: str = ""
    questions_per_attempt: Positive = 10
    question_generator: Literal["bank", "llm"] = "bank"  # what prepares an attempt's set
    generate_wait_seconds: Annotated[float, msgspec.Meta(ge=0, le=60)] = 2.0
    llm_url: str = ""  # an OpenAI-compatible endpoint's base: {llm_url}/chat/completions
    llm_model: str = ""
    llm_api_key: str = ""  # sent as a Bearer token when set
    llm_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=600)] = 20.0
    session_ttl_seconds: Positive = 40 * 24 * 3600
    reviewer_ttl_seconds: Positive = 14 * 24 * 3600
    public_url: str = "http://127.0.0.1:8000"
    master_key: str = ""
    max_body_bytes: Positive = 1024 * 1024
    rate_limit_per_minute: Positive = 600
    auth_failures_per_minute: Positive = 60
    trusted_proxies: str = ""  # addresses or networks whose X-Forwarded-For is believed
    db_pool_size: Positive = 10  # the most PostgreSQL connections one process opens
    db_idle_seconds: Positive = 10  # then an unused connection closes (one at a time) down to 1
    db_connect_timeout: Positive = 2
    serves_http: bool = False  # an API worker: its two pools share db_pool_size
    webhook_allow_private: bool = False
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_topic: str = "assessment.events"
    kafka_session_timeout_ms: int = 10000
    smtp_url: str = ""
    outbox_dir: Path | None = None
    mail_from: str = "Skill assessments <no-reply@assess.local>"
    heartbeat_file: Path | None = None
    audit_checkpoint_events: Positive = 1000
    audit_checkpoint_seconds: Positive = 300
    audit_key_file: Path | None = None
    credential_key_file: Path | None = None
    issuer_name: str = "Skill assessments"
    tracing: bool | None = None  # None: on when an OTLP endpoint is given
    otlp_endpoint: str = ""

    @property
    def loop_pool_size(self) -> int:
        """The most connections an API worker's event loop opens: half of db_pool_size."""
        return max(1, self.db_pool_size // 2)

    @property
    def thread_pool_size(self) -> int:
        """The most connections the process's threads open: in an API worker the rest of
        db_pool_size, in any other process all of it."""
        if not self.serves_http:
            return self.db_pool_size
        return max(1, self.db_pool_size - self.loop_pool_size)

    def beat(self) -> None:
        """Touch the heartbeat file, if set: a worker's loop is alive (for health checks)."""
        if self.heartbeat_file is not None:
            self.heartbeat_file.touch()

    @property
    def tracing_on(self) -> bool:
        """Whether this process traces (infrastructure/tracing.py): ASSESS_TRACING says so,
        or, when it is unset, an OTLP endpoint to export to is given."""
        return self.tracing if self.tracing is not None else bool(self.otlp_endpoint)

    @property
    def outbox(self) -> Path:
        """Where result emails are written as .eml files when no SMTP server is set."""
        return self.outbox_dir or self.data_dir / "outbox"

    @property
    def audit_key_path(self) -> Path:
        """The Ed25519 private key that signs the audit log's checkpoints."""
        return self.audit_key_file or self.data_dir / "audit-ed25519.pem"

    @property
    def credential_key_path(self) -> Path:
        """The P-256 private key that signs credentials (its public keys beside it)."""
        return self.credential_key_file or self.data_dir / "credentials-p256.pem"

    @property
    def audit_origin(self) -> str:
        """The name the audit log's checkpoints carry: the public URL without its scheme,
        then /audit (`assess.example.com/audit`)."""
        return self.public_url.split("://", 1)[-1].rstrip("/") + "/audit"

    def __post_init__(self) -> None:
        self.proxy_networks()  # refused at start, with the item that is wrong
        public = urlsplit(self.public_url)
        if public.scheme not in ("http", "https") or not public.hostname:
            raise ValueError(
                f"public_url: {self.public_url!r} is not an absolute http(s) URL"
                " (https://assess.example.com, say)"
            )
        if self.question_generator == "llm" and not (self.llm_url and self.llm_model):
            raise ValueError("question_generator llm needs ASSESS_LLM_URL and ASSESS_LLM_MODEL")

    def proxy_networks(self) -> tuple[Network, ...]:
        """ASSESS_TRUSTED_PROXIES: addresses or networks (CIDR) separated by commas."""
        found = []
        for item in filter(None, (part.strip() for part in self.trusted_proxies.split(","))):
            try:
                found.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: '{item}' is not an address or network"
                ) from None
        return tuple(found)

    def check_production(self) -> None:
        """Refuse to start a process on PostgreSQL, before anything is written, without
        ASSESS_MASTER_KEY (or with one that is not 64 hex digits), or in the data folder of
        an embedded store (its outbox, keys and audit key are `assess dev`'s)."""
        if not self.database_url:
            return
        self.master_secret()
        if (self.data_dir / STORE_FILE).exists():
            raise SystemExit(
                f"{self.data_dir} holds the embedded store of `assess dev` ({STORE_FILE}): on"
                " PostgreSQL the service keeps its files (the outbox, the audit key) in a"
                " folder of its own. Give one with --data or ASSESS_DATA_DIR. Nothing was"
                " written."
            )

    def master_secret(self) -> bytes:
        """ASSESS_MASTER_KEY (64 hex digits); on the embedded store, else the one kept in
        the data dir, made on first use there: every process of one deployment must see the
        same. On PostgreSQL none is ever made."""
        text = self.master_key
        if not text and self.database_url:
            raise SystemExit(NO_MASTER_KEY)
        if not text:
            path = self.data_dir / "master.key"
            private_folder(path.parent)
            made = path.with_name(f".master.key.{secrets.token_hex(8)}")
            write_private(made, secrets.token_hex(32).encode())
            try:
                os.link(made, path)  # whole, and only once: processes may start together
            except FileExistsError:
                pass
            finally:
                made.unlink()
            text = path.read_text().strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise SystemExit("ASSESS_MASTER_KEY: give 64 hex digits (32 random bytes)")
        return key

    @property
    def store_url(self) -> str:
        """The event store's URL: ASSESS_DATABASE_URL, else a SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / STORE_FILE}"
