"""OU paths as share targets: ``Root/Workloads/ML`` in a portfolio file, resolved through AWS Organizations
when a plan is made.

The syntax checks at the top are pure (the build and the manifest check use them, offline).  The
resolution (:func:`resolve_ou_paths`) reads the organization tree and returns the catalog with concrete
shares, which is what the planner, the executor and the S3 bucket policy see.

Semantics:

* A path names the root (``Root``: Organizations has one root per organization and no call renames it) and
  then one OU name per level.  OU names are unique among the OUs of one parent
  (CreateOrganizationalUnit/UpdateOrganizationalUnit answer DuplicateOrganizationalUnitException), so a
  path names at most one OU; two siblings with the same name would be refused as ambiguous.  An OU whose
  name holds ``/`` cannot be named by a path: use its id.
* Without ``exclude``: one share of the OU the path names (``Root`` alone: the organization).
* With ``exclude``: a Service Catalog OU share reaches every account of the OU and of the OUs below it
  (CreatePortfolioShare: "creates PortfolioShare for all of the accounts that are associated to the
  OrganizationNode", "for the node and its children"), so the target OU itself cannot be shared.  It
  becomes: a share of each child OU that holds no excluded OU, the same expansion inside each child that
  does, and ACCOUNT shares for the accounts directly in each OU so expanded (ListAccountsForParent lists
  only the accounts directly in a parent).  OUs and accounts created later under an expanded OU are not
  shared until the next publish.
* A path that does not exist is a problem (exit 2) unless the share is ``optional: true``: then it is a
  plan note and no share (a share made for it earlier is only removed by ``--prune``, like any share no
  longer configured).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .manifest import Catalog, Portfolio, Share

__all__ = [
    "OU_PATH",
    "ROOT",
    "OuPathError",
    "Resolution",
    "exclude_problems",
    "has_ou_paths",
    "is_ou_path",
    "path_problem",
    "resolve_ou_paths",
]

#: the manifest's share type of a path target, before resolution
OU_PATH = "OU_PATH"
#: the root's name (ListRoots; the botocore examples show "Root", and no Organizations call renames a root)
ROOT = "Root"
#: OrganizationalUnitName is 1-128 characters (botocore model)
MAX_NAME = 128
#: account states that can receive a share (Account.State; Status is its retiring predecessor)
ACTIVE = "ACTIVE"


# ------------------------------------------------------------------------------------------ syntax (offline)


def is_ou_path(target: str) -> bool:
    """Whether a share target is meant as an OU path (ids never hold '/')."""
    return target == ROOT or "/" in target


def path_problem(path: str) -> str | None:
    """Why `path` is not an OU path (Root/Name/Name...), or None."""
    segments = path.split("/")
    if segments[0] != ROOT:
        if segments[0].lower() == ROOT.lower():
            return f"{path!r} is not an OU path: the root is written {ROOT} (capital R)"
        return (f"{path!r} is not an OU path: a path starts at the root, such as {ROOT}/Workloads/ML; did you mean "
                f"{ROOT}/{path.strip('/')}?")
    if "" in segments:
        return f"{path!r} has an empty OU name (a leading, trailing or doubled /)"
    long = next((s for s in segments if len(s) > MAX_NAME), None)
    if long is not None:
        return f"{path!r}: OU names have at most {MAX_NAME} characters; {long[:20]!r}... has {len(long)}"
    return None


def exclude_problems(target: str, excludes: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """(index, reason) for each exclude of a path target that is not an OU path strictly under it, repeats
    one, or lies under another exclude (already excluded)."""
    found: list[tuple[int, str]] = []
    kept: list[str] = []
    for index, path in excludes:
        reason = path_problem(path)
        if reason is None and not path.startswith(f"{target}/"):
            reason = f"{path!r} is not under the target {target!r}; an exclude names an OU below the target"
        if reason is None and path in kept:
            reason = f"{path!r} is listed twice"
        if reason is None:
            wider = next((k for k in kept if path.startswith(f"{k}/") or k.startswith(f"{path}/")), None)
            if wider is not None:
                reason = f"{path!r} and {wider!r}: one lies under the other; exclude only the higher one"
        if reason is None:
            kept.append(path)
        else:
            found.append((index, reason))
    return found


def has_ou_paths(catalog: Catalog) -> bool:
    return any(s.type == OU_PATH for p in catalog.portfolios.values() for s in p.shares)


# ------------------------------------------------------------------------------------------ resolution


class OuPathError(Exception):
    """Share targets that cannot be resolved: one line per problem, naming the portfolio file and the share key
    (the CLI answers exit 2: the input is wrong for this organization)."""

    def __init__(self, lines: list[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


@dataclass(frozen=True)
class Resolution:
    """What one path target resolved to, for the plan (JSON: :meth:`to_dict`; text: :meth:`summary`)."""

    portfolio: str
    share: str  # the key in the portfolio file: "shares[1]"
    path: str
    exclude: tuple[str, ...]
    optional: bool
    node: str | None  # the id the path names (ou-..., or o-... for Root); None: it does not exist
    shares: tuple[Share, ...]  # the concrete shares it became
    places: tuple[str, ...] = ()  # per share, where it is: the OU's path, or "in <path>" for an account
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        if self.node is None:
            return f"{self.path} (optional) -> not found; no share"
        if not self.exclude:
            return f"{self.path} -> {self.node}"
        count = f"{len(self.shares)} share" + ("" if len(self.shares) == 1 else "s")
        return f"{self.path} -> {self.node} ({count} after excluding {', '.join(self.exclude)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "portfolio": self.portfolio,
            "share": self.share,
            "path": self.path,
            "exclude": list(self.exclude),
            "optional": self.optional,
            "resolved": self.node,
            "shares": [{"type": s.type, "value": s.value, "where": where, "share_principals": s.share_principals,
                        "share_tag_options": s.share_tag_options}
                       for s, where in zip(self.shares, self.places, strict=True)],
            "summary": self.summary(),
            "notes": list(self.notes),
        }


@dataclass
class _Node:
    id: str
    path: str


class _Ambiguous(Exception):
    pass


@dataclass
class _Tree:
    """The organization as far as the paths need it; each parent is listed once per run (paginated)."""

    organizations: Any
    _root: _Node | None = None
    _organization_id: str | None = None
    _children: dict[str, list[dict]] = field(default_factory=dict)
    _accounts: dict[str, list[dict]] = field(default_factory=dict)

    def _pages(self, operation: str, key: str, **params) -> list[dict]:
        # Organizations' List* calls may return an empty page with a NextToken: the paginator follows it
        return [item for page in self.organizations.get_paginator(operation).paginate(**params) for item in page[key]]

    def root(self) -> _Node:
        if self._root is None:
            roots = [r for r in self._pages("list_roots", "Roots") if r.get("Name") == ROOT]
            if len(roots) != 1:
                raise _Ambiguous(f"the organization has {len(roots)} roots named {ROOT}")
            self._root = _Node(roots[0]["Id"], ROOT)
        return self._root

    def organization_id(self) -> str:
        if self._organization_id is None:
            self._organization_id = self.organizations.describe_organization()["Organization"]["Id"]
        return self._organization_id

    def children(self, parent: str) -> list[dict]:
        if parent not in self._children:
            found = self._pages("list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent)
            self._children[parent] = sorted(found, key=lambda ou: (ou["Name"], ou["Id"]))
        return self._children[parent]

    def accounts(self, parent: str) -> list[dict]:
        if parent not in self._accounts:
            found = self._pages("list_accounts_for_parent", "Accounts", ParentId=parent)
            self._accounts[parent] = sorted(found, key=lambda a: a["Id"])
        return self._accounts[parent]

    def find(self, path: str) -> tuple[_Node | None, str]:
        """The node `path` names, or None and why not; raises _Ambiguous for two siblings of one name."""
        node = self.root()
        for name in path.split("/")[1:]:
            kids = self.children(node.id)
            same = [k for k in kids if k["Name"] == name]
            if len(same) > 1:
                raise _Ambiguous(f"{node.path} has {len(same)} OUs named {name!r} "
                                 f"({', '.join(k['Id'] for k in same)}); share with the OU id instead")
            if not same:
                return None, f"{node.path} has no OU {name!r}{_known(name, [k['Name'] for k in kids])}"
            node = _Node(same[0]["Id"], f"{node.path}/{name}")
        return node, ""


def _known(name: str, names: list[str]) -> str:
    if not names:
        return " (it has no OUs)"
    same_letters = [n for n in names if n.lower() == name.lower()]
    if same_letters:
        return f"; did you mean {same_letters[0]!r}? (OU names are case-sensitive)"
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f" (its OUs: {shown})"


def _expand(tree: _Tree, node: _Node, share: Share, own_account: Callable[[], str | None],
            notes: list[str], seen: set[str]) -> list[tuple[Share, str]]:
    """The shares (and where each is) that reach `node`'s accounts and OUs except the excluded ones (those met
    are recorded in `seen`)."""
    shares: list[tuple[Share, str]] = []
    for child in tree.children(node.id):
        child_node = _Node(child["Id"], f"{node.path}/{child['Name']}")
        if child_node.path in share.exclude:
            seen.add(child_node.path)
        elif any(e.startswith(f"{child_node.path}/") for e in share.exclude):
            shares += _expand(tree, child_node, share, own_account, notes, seen)
        else:
            shares.append((_concrete(share, "ORGANIZATIONAL_UNIT", child_node.id), child_node.path))
    accounts, skipped = [], []
    for account in tree.accounts(node.id):
        state = account.get("State") or account.get("Status")
        if state != ACTIVE:
            skipped.append(f"{account['Id']} ({state})")
        elif account["Id"] == own_account():
            notes.append(f"account {account['Id']} in {node.path} is the publishing account, which holds the "
                         "portfolio: not shared with itself")
        else:
            accounts.append(account["Id"])
    if skipped:
        notes.append(f"accounts in {node.path} not {ACTIVE}, not shared: {', '.join(skipped)}")
    if accounts and share.share_principals:
        # CreatePortfolioShare: SharePrincipals is for ORGANIZATION and ORGANIZATIONAL_UNIT nodes only
        notes.append(f"accounts directly in {node.path} get ACCOUNT shares, which cannot share principals: "
                     f"{', '.join(accounts)}")
    shares += [(replace(_concrete(share, "ACCOUNT", a), share_principals=False), f"in {node.path}") for a in accounts]
    return shares


def _concrete(share: Share, kind: str, value: str) -> Share:
    """A share of one organization node, made from a path share (its path kept: where it came from)."""
    return replace(share, type=kind, value=value, exclude=(), optional=False)


def _resolve_share(tree: _Tree, share: Share, own_account: Callable[[], str | None],
                   notes: list[str]) -> tuple[_Node | None, str, list[tuple[Share, str]]]:
    """(node, why it is missing, shares and where each is) of one path share."""
    node, missing = tree.find(share.value)
    if node is None:
        return None, missing, []
    if not share.exclude:
        if node.path == ROOT:
            return node, "", [(_concrete(share, "ORGANIZATION", tree.organization_id()), ROOT)]
        return node, "", [(_concrete(share, "ORGANIZATIONAL_UNIT", node.id), node.path)]
    seen: set[str] = set()
    shares = _expand(tree, node, share, own_account, notes, seen)
    for path in share.exclude:
        if path not in seen:
            notes.append(f"exclude {path} does not exist now; the OUs and accounts around it are shared one by one, "
                         "so it stays excluded if it is created later")
    return node, "", shares


def _resolve_portfolio(tree: _Tree, key: str, portfolio: Portfolio, own_account: Callable[[], str | None],
                       resolutions: list[Resolution], problems: list[str]) -> Portfolio:
    where = portfolio.file or f"portfolios/{key}.yaml"
    shares: list[Share] = []
    origin: dict[tuple[str, str], tuple[str, Share]] = {}
    for index, share in enumerate(portfolio.shares):
        label = f"shares[{index}]"
        if share.type != OU_PATH:
            made = [(share, share.value)]
        else:
            notes: list[str] = []
            try:
                node, missing, made = _resolve_share(tree, share, own_account, notes)
            except _Ambiguous as exc:
                problems.append(f"{where}: {label}.target: {share.value!r}: {exc}")
                continue
            if node is None and not share.optional:
                problems.append(f"{where}: {label}.target: OU path {share.value!r} does not exist: {missing}; fix the "
                                "path, create the OU, or mark the share optional: true")
                continue
            if node is None:
                notes.append(f"{missing}; optional: no share")
            resolutions.append(Resolution(key, label, share.value, share.exclude, share.optional, _node_id(tree, node),
                                          tuple(s for s, _ in made), tuple(w for _, w in made), tuple(notes)))
        for one, _ in made:
            clash = _add_once(shares, origin, label, one)
            if clash:
                problems.append(f"{where}: {label}.target: {share.value!r} shares with {one.type} {one.value}, as "
                                f"{clash} does, with other share_principals/share_tag_options; make them agree")
    if portfolio.s3 and portfolio.organization_id and any(s.type == OU_PATH for s in portfolio.shares):
        actual = tree.organization_id()
        if actual != portfolio.organization_id:
            problems.append(f"{where}: organization_id: {portfolio.organization_id!r}, but the OU paths are resolved "
                            f"in organization {actual!r}; the bucket policy confines readers to organization_id")
    return replace(portfolio, shares=tuple(shares))


def _add_once(shares: list[Share], origin: dict[tuple[str, str], tuple[str, Share]], label: str,
              share: Share) -> str | None:
    """Adds `share` unless an earlier target (a path and an id, or two paths) made the same one: then nothing,
    or the earlier one's label when their flags differ."""
    first_label, first = origin.setdefault((share.type, share.value), (label, share))
    if first is share:
        shares.append(share)
        return None
    same = (first.share_principals, first.share_tag_options) == (share.share_principals, share.share_tag_options)
    return None if same else first_label


def _node_id(tree: _Tree, node: _Node | None) -> str | None:
    if node is None:
        return None
    return tree.organization_id() if node.path == ROOT else node.id


def resolve_ou_paths(catalog: Catalog, organizations, own_account: Callable[[], str | None] = lambda: None,
                     ) -> tuple[Catalog, list[Resolution]]:
    """The catalog with every OU path share replaced by the concrete shares it resolves to now, and what each
    path resolved to.  Raises OuPathError (a required path that does not exist, two sibling OUs of one name,
    shares that disagree); ClientError as Organizations answers (the caller turns it into a read failure).

    `own_account` gives the publishing account (asked only when an exclusion makes ACCOUNT shares)."""
    tree = _Tree(organizations)
    resolutions: list[Resolution] = []
    problems: list[str] = []
    portfolios = {}
    own_account = _once(own_account)
    for key, portfolio in catalog.portfolios.items():
        if any(s.type == OU_PATH for s in portfolio.shares):
            portfolio = _resolve_portfolio(tree, key, portfolio, own_account, resolutions, problems)
        portfolios[key] = portfolio
    if problems:
        raise OuPathError(problems)
    return replace(catalog, portfolios=portfolios, warnings=list(catalog.warnings)), resolutions


def _once(function: Callable[[], str | None]) -> Callable[[], str | None]:
    cache: list[str | None] = []

    def call() -> str | None:
        if not cache:
            cache.append(function())
        return cache[0]

    return call
