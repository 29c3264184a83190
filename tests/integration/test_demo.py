"""`zhicheng demo --no-serve` sets up a fresh sandbox; running it again works."""

from __future__ import annotations

from click.testing import CliRunner

from webapp.cli import cli


def test_demo_sets_up_twice(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHICHENG_INSTANCE", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ZHICHENG_PASSWORD_HASH", "pbkdf2:sha256:1000")
    for _ in range(2):
        result = CliRunner().invoke(cli, ["demo", "--no-serve"])
        assert result.exit_code == 0, result.output
        assert "cq-2020-senior" in result.output
        for role in (
            "申报人",
            "单位管理员",
            "区县主管部门",
            "区县人事代理机构",
            "区县职改部门",
            "市级主管部门",
            "评委会工作人员",
            "评委会现场确认",
            "审计人员",
        ):
            assert role in result.output
    assert (tmp_path / "demo.sqlite").exists()


def test_demo_id_numbers_and_credit_codes_pass_validation():
    from engine.accounts import validation
    from engine.demo import _credit_code, _id_number

    for seq in (1, 2, 3):
        assert validation.resident_id(_id_number(seq)) == _id_number(seq)
        assert validation.credit_code(_credit_code(seq)) == _credit_code(seq)
