"""The `cumulo` command: `serve`, and the admin commands that work beside a running server.

Admin commands open the same data dir (`--data-dir` or CUMULO_DATA_DIR), take the
settings `cumulo serve` recorded there (its metadata database, its public URLs: see
`config.load`), and write the metadata database directly; every process of the node
sees the change at once (`identity/generation.py`), other nodes within a second. Only
`serve` creates a data dir.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

from cumulo import config, errors
from cumulo.identity.snippets import aws_profile, creds_document, openrc, render_file, table
from cumulo.logs import ClippingFormatter
from cumulo.model import Role

# The portal's downloads that `creds show` prints too (a client's own config file).
CONFIG_FILES = ("clouds.yaml", "rclone.conf", "s3cfg")

Handler = Callable[[argparse.Namespace, config.Settings], int]


# --- handlers ----------------------------------------------------------------


def _services(settings: config.Settings) -> Any:
    from cumulo.app import build

    return build(settings, create=False)


def _require_data_dir(settings: config.Settings, *, why: str = "") -> None:
    """Admin commands never create a data dir: a missing one means a wrong --data-dir
    (or none given), and a fresh one would hold an empty database and new keys."""
    if settings.data_path.is_dir():
        return
    raise config.ConfigError(
        f"no data directory at {settings.data_path}{why}; `cumulo serve` creates it "
        "(give the server's with --data-dir or CUMULO_DATA_DIR)"
    )


def cmd_serve(args: argparse.Namespace, settings: config.Settings) -> int:
    from cumulo.server import serve

    return serve(settings)


def cmd_org_create(args: argparse.Namespace, settings: config.Settings) -> int:
    org = _services(settings).identity.create_organization(args.org)
    print(f"created organization {org.name}")
    return 0


def cmd_org_list(args: argparse.Namespace, settings: config.Settings) -> int:
    for org in _services(settings).identity.store.organizations():
        print(org.name)
    return 0


def cmd_env_create(args: argparse.Namespace, settings: config.Settings) -> int:
    env = _services(settings).identity.create_environment(args.org, args.env)
    print(f"created environment {env.name} (project {env.project_name}, id {env.project_id})")
    return 0


def cmd_env_list(args: argparse.Namespace, settings: config.Settings) -> int:
    identity = _services(settings).identity
    for env in identity.store.environments(identity.store.organization(args.org)):
        print(f"{env.name}\t{env.project_name}\t{env.project_id}")
    return 0


def cmd_user_create(args: argparse.Namespace, settings: config.Settings) -> int:
    user = _services(settings).identity.create_user(
        args.login, email=args.email, password=args.password, is_admin=args.admin
    )
    print(f"created user {user.login}")
    return 0


def cmd_member_add(args: argparse.Namespace, settings: config.Settings) -> int:
    membership = _services(settings).identity.add_member(
        args.org, args.env, args.login, Role(args.role)
    )
    print(
        f"added {args.login} to {args.org}/{args.env} as {membership.role.value}; "
        f"service username {membership.username}"
    )
    return 0


def cmd_member_remove(args: argparse.Namespace, settings: config.Settings) -> int:
    _services(settings).identity.remove_member(args.org, args.env, args.login)
    print(f"removed {args.login} from {args.org}/{args.env}")
    return 0


def cmd_member_role(args: argparse.Namespace, settings: config.Settings) -> int:
    _services(settings).identity.set_role(args.org, args.env, args.login, Role(args.role))
    print(f"{args.login} is now {args.role} in {args.org}/{args.env}")
    return 0


def cmd_creds_show(args: argparse.Namespace, settings: config.Settings) -> int:
    identity = _services(settings).identity
    creds = identity.credentials(args.login, args.org, args.env)
    document = creds_document(settings, creds)
    ec2 = [
        {"access": c.access, "project_id": c.project_id, "created_at": c.created_at}
        for c in identity.member_ec2(args.login, args.org, args.env)
    ]
    if args.format == "json":
        print(json.dumps({**document, "ec2_credentials": ec2}, indent=2))
    elif args.format == "openrc":
        sys.stdout.write(openrc(document))
    elif args.format == "openrc-v2":
        sys.stdout.write(openrc(document, v2=True))
    elif args.format == "aws":
        sys.stdout.write(aws_profile(document, args.profile))
    elif args.format in CONFIG_FILES:
        sys.stdout.write(render_file(document, args.format)[2])
    else:
        sys.stdout.write(table(document))
        sys.stdout.write(_ec2_table(ec2))
    return 0


def _ec2_table(ec2: list[dict[str, Any]]) -> str:
    """The membership's EC2 credentials (made over Keystone); their secrets were shown
    once, when made, and are not printed again."""
    if not ec2:
        return "\nEC2 credentials: none\n"
    lines = ["", "EC2 credentials (access key, project ID, created):"]
    for c in ec2:
        created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(c["created_at"]))
        lines.append(f"  {c['access']}  {c['project_id']}  {created}")
    return "\n".join(lines) + "\n"


def cmd_creds_ec2_delete(args: argparse.Namespace, settings: config.Settings) -> int:
    _services(settings).identity.delete_member_ec2(args.login, args.org, args.env, args.access)
    print(f"deleted EC2 credential {args.access} of {args.login} in {args.org}/{args.env}")
    return 0


def cmd_creds_regenerate(args: argparse.Namespace, settings: config.Settings) -> int:
    _services(settings).identity.regenerate(args.login)
    print(
        f"regenerated the object-storage password of {args.login} for Swift and S3 in "
        "every environment; the old one no longer works"
    )
    return 0


def cmd_keys_rotate(args: argparse.Namespace, settings: config.Settings) -> int:
    primary = _services(settings).keys.rotate_tokens()
    print(f"rotated token keys; primary key is now {primary}")
    return 0


def cmd_settings(args: argparse.Namespace, settings: config.Settings) -> int:
    if args.markdown:
        sys.stdout.write(config.settings_markdown())
    else:
        for f in fields(settings):
            print(f"{f.name} = {getattr(settings, f.name)!r}")
    return 0


# --- parser --------------------------------------------------------------------


def _serve_flags(parser: argparse.ArgumentParser) -> None:
    for f in fields(config.Settings):
        if f.name == "data_dir":
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        if kind == "bool":
            parser.add_argument(
                flag,
                dest=f.name,
                default=None,
                action=argparse.BooleanOptionalAction,
                help=f.metadata["help"],
            )
        else:
            parser.add_argument(
                flag,
                dest=f.name,
                default=None,
                type=int if kind == "int" else str,
                help=f.metadata["help"],
            )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        dest="data_dir",
        default=argparse.SUPPRESS,
        help="data directory (default $CUMULO_DATA_DIR or ./data)",
    )
    parser = argparse.ArgumentParser(
        prog="cumulo",
        description="Cumulo: object storage with a credentials portal.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # Admin commands may name the metadata database (`serve` has every setting's flag).
    admin = argparse.ArgumentParser(add_help=False, parents=[common])
    admin.add_argument(
        "--metadata-url",
        dest="metadata_url",
        default=None,
        help="metadata database (default: the one `cumulo serve` recorded in the data dir)",
    )
    admin.add_argument(
        "--cluster-key-file",
        dest="cluster_key_file",
        default=None,
        help="the cluster's key file (default: the one `cumulo serve` recorded, or "
        "<data-dir>/cluster.key)",
    )

    def command(group: Any, name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        parent = common if handler is cmd_serve else admin
        p: argparse.ArgumentParser = group.add_parser(name, help=help, parents=[parent])
        p.set_defaults(handler=handler)
        return p

    _serve_flags(command(sub, "serve", cmd_serve, "run the identity and object endpoints"))

    org = sub.add_parser("org", help="organizations").add_subparsers(dest="action", required=True)
    command(org, "create", cmd_org_create, "create an organization").add_argument("org")
    command(org, "list", cmd_org_list, "list organizations")

    env = sub.add_parser("env", help="environments").add_subparsers(dest="action", required=True)
    p = command(env, "create", cmd_env_create, "create an environment (project <org>-<env>)")
    p.add_argument("org")
    p.add_argument("env")
    command(env, "list", cmd_env_list, "list an organization's environments").add_argument("org")

    user = sub.add_parser("user", help="users").add_subparsers(dest="action", required=True)
    p = command(user, "create", cmd_user_create, "create a user")
    p.add_argument("login")
    p.add_argument("--email")
    p.add_argument("--password", help="portal password (optional)")
    p.add_argument("--admin", action="store_true", help="make a system admin")

    member = sub.add_parser("member", help="memberships").add_subparsers(
        dest="action", required=True
    )
    roles = [r.value for r in Role]
    p = command(member, "add", cmd_member_add, "add a user to an environment")
    for name in ("org", "env", "login"):
        p.add_argument(name)
    p.add_argument("--role", choices=roles, default=Role.MEMBER.value)
    p = command(member, "remove", cmd_member_remove, "remove a user from an environment")
    for name in ("org", "env", "login"):
        p.add_argument(name)
    p = command(member, "role", cmd_member_role, "change a member's role")
    for name in ("org", "env", "login"):
        p.add_argument(name)
    p.add_argument("role", choices=roles)

    creds = sub.add_parser("creds", help="service credentials").add_subparsers(
        dest="action", required=True
    )
    p = command(creds, "show", cmd_creds_show, "show a member's service credentials")
    for name in ("login", "org", "env"):
        p.add_argument(name)
    p.add_argument(
        "--format",
        choices=["table", "json", "openrc", "openrc-v2", "aws", *CONFIG_FILES],
        default="table",
    )
    p.add_argument("--profile", default="default", help="profile name for --format aws")
    p = command(
        creds, "ec2-delete", cmd_creds_ec2_delete, "delete one of a member's EC2 credentials"
    )
    for name in ("login", "org", "env", "access"):
        p.add_argument(name)
    command(
        creds,
        "regenerate",
        cmd_creds_regenerate,
        "new object-storage password for every environment of the user",
    ).add_argument("login")

    keys = sub.add_parser("keys", help="the cluster's token keys").add_subparsers(
        dest="action", required=True
    )
    command(
        keys,
        "rotate",
        cmd_keys_rotate,
        "rotate the token keys (in the metadata database, for every node)",
    )

    p = command(sub, "settings", cmd_settings, "print the effective settings")
    p.add_argument("--markdown", action="store_true", help="print the settings reference")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    flags = {f.name: getattr(args, f.name, None) for f in fields(config.Settings)}
    try:
        # `serve` makes the record that every other command starts from.
        settings = config.load(flags, recorded=args.handler is not cmd_serve)
        if args.handler not in (cmd_serve, cmd_settings) and not settings.metadata_url:
            _require_data_dir(settings)
        handler = logging.StreamHandler()
        handler.setFormatter(
            ClippingFormatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
        )
        logging.basicConfig(
            # Admin commands speak through their output; only `serve` logs chatter.
            level=settings.log_level.upper() if args.handler is cmd_serve else logging.WARNING,
            handlers=[handler],
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
        return int(args.handler(args, settings))
    except config.ConfigError as exc:
        print(f"cumulo: {exc}", file=sys.stderr)
        return 2
    except errors.CumuloError as exc:
        print(f"cumulo: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cumulo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
