// Chinese labels for codes the server sends (roles, audit actions).

export const ROLE_LABELS = {
  staff: "科员",
  dept_head: "处室负责人",
  leader: "机关领导",
  clerk: "文书/收发员",
  seal_keeper: "印章管理员",
  admin: "系统管理员",
};

export const AUDIT_ACTIONS = {
  "auth.login": "登录",
  "auth.login_failed": "登录失败",
  "auth.logout": "退出登录",
  "auth.password_changed": "修改密码",
  "auth.password_change_failed": "修改密码失败",
  "auth.password_reset": "管理员重置密码",
  "auth.totp_setup": "生成两步验证密钥",
  "auth.totp_enabled": "开启两步验证",
  "auth.totp_disabled": "关闭两步验证",
  "auth.totp_verified": "两步验证通过",
  "department.create": "新建部门",
  "department.update": "修改部门",
  "department.delete": "删除部门",
  "org.import": "导入组织架构",
  "org.export": "导出组织架构",
  "settings.role_2fa": "修改两步验证策略",
  "user.create": "新建人员",
  "user.update": "修改人员信息",
  "user.posts": "修改岗位",
  "user.roles": "修改角色",
  "user.enable": "启用账号",
  "user.disable": "停用账号",
  "user.preferences": "修改个人偏好",
};
