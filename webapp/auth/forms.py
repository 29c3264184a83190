"""Account forms. Field rules live in engine.accounts.validation; these only carry labels and CSRF."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField


class RegisterForm(FlaskForm):
    real_name = StringField("姓名")
    id_number = StringField("身份证号码", description="18位，末位可为X；注册后作为登录用户名")
    mobile = StringField("手机号码")
    password = PasswordField("密码", description="至少8位，须同时包含字母和数字")
    password2 = PasswordField("确认密码")


class LoginForm(FlaskForm):
    username = StringField("用户名", description="个人用户填身份证号码；预设管理员填分配的用户名")
    password = PasswordField("密码")


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField("原密码")
    new_password = PasswordField("新密码", description="至少8位，须同时包含字母和数字")
    new_password2 = PasswordField("确认新密码")


class EmailForm(FlaskForm):
    email = StringField("电子邮箱", description="截止前的办理提醒会同时发到这里；留空则只在站内提醒")
