"""The first history schema: runs and their findings.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "harden_runs",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("environment", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("started", sa.DateTime, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=False),
        sa.Column("params_digest", sa.String(128), nullable=False, server_default=""),
        sa.Column("fail_on", sa.String(20), nullable=False, server_default="high"),
        sa.Column("blocking", sa.Integer, nullable=False, server_default="0"),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("report_dir", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.String(20), nullable=False, server_default="run"),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("environment", "run_id", name="uq_harden_runs_env_run"),
    )
    op.create_index("ix_harden_runs_env_started", "harden_runs", ["environment", "started"])
    op.create_table(
        "harden_findings",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("harden_runs.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("finding_id", sa.String(300), nullable=False),
        sa.Column("area", sa.String(100), nullable=False),
        sa.Column("check_id", sa.String(200), nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("raw_status", sa.String(20), nullable=True),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("target", sa.Text, nullable=False, server_default=""),
        sa.Column("observed", sa.Text, nullable=False, server_default=""),
        sa.Column("expected", sa.Text, nullable=False, server_default=""),
        sa.Column("remediation", sa.Text, nullable=False, server_default=""),
        sa.Column("waiver", sa.Text, nullable=False, server_default=""),
        sa.Column("blocking", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("refs", sa.JSON, nullable=False),
    )
    op.create_index("ix_harden_findings_run", "harden_findings", ["run_pk"])
    op.create_index("ix_harden_findings_fid", "harden_findings", ["finding_id"])


def downgrade() -> None:
    op.drop_table("harden_findings")
    op.drop_table("harden_runs")
