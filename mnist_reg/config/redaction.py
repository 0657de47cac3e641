"""Storage and tracking URLs as they may be shown or logged: never with their password."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from omegaconf import OmegaConf

from mnist_reg.config.schema import Config


def mask_password(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def safe_yaml(cfg: Config) -> str:
    """The configuration as YAML with every URL's password masked: what may be logged."""
    container = OmegaConf.to_container(cfg, resolve=True)

    def mask(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: mask(value) for key, value in node.items()}
        if isinstance(node, list):
            return [mask(value) for value in node]
        return mask_password(node) if isinstance(node, str) else node

    return OmegaConf.to_yaml(OmegaConf.create(mask(container)))
