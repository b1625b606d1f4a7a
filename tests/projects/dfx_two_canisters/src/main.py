"""A canister whose entry sits in src/ and imports from the project root, as ic-basilisk's test canisters do."""
from basilisk import Opt, Vec, nat32, query, text, update

from src.guards import require
from src.posts import POSTS, Post, make_post


@update
@require("editor")
def create_post(title: text, tags: Vec[text]) -> Post:
    return make_post(title, tags)


@query
def get_post(id: nat32) -> Opt[Post]:
    return POSTS[id] if id < len(POSTS) else None


@query
def count() -> nat32:
    return len(POSTS)


@query
@require("auditor")
def audit_log(limit: nat32) -> Vec[text]:
    import src.audit

    return src.audit.LOG[-limit:]
