"""A realistic demo organisation: about 200 people in 15 departments, Chinese and English names."""
from __future__ import annotations

import random
from dataclasses import dataclass

from app.db import db
from app.org.models import Department, Membership, Person
from app.search import person_search_key
from app.security.passwords import generate_one_time_password, hash_password
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope
from app.tenancy.service import create_tenant

# (name, parent index or None, head title, member title, how many members besides the head, English office)
DEPARTMENTS = [
    ("演示科技有限公司", None, "首席执行官", None, 0, False),
    ("总裁办", 0, "总裁办主任", "总裁助理", 4, False),
    ("研发中心", 0, "首席技术官", "架构师", 3, False),
    ("平台研发部", 2, "平台研发总监", "后端工程师", 30, False),
    ("移动研发部", 2, "移动研发总监", "移动端工程师", 22, False),
    ("质量保障部", 2, "测试经理", "测试工程师", 14, False),
    ("产品设计部", 0, "产品总监", "产品经理", 14, False),
    ("销售中心", 0, "销售副总裁", "销售运营", 3, False),
    ("华北大区", 7, "华北区销售总监", "客户经理", 17, False),
    ("华东大区", 7, "华东区销售总监", "客户经理", 19, False),
    ("华南大区", 7, "华南区销售总监", "客户经理", 15, False),
    ("市场部", 0, "市场总监", "市场专员", 12, False),
    ("人力资源部", 0, "人力资源总监", "人力资源专员", 9, False),
    ("财务部", 0, "财务总监", "会计", 10, False),
    ("Singapore Office", 0, "Managing Director", "Account Executive", 11, True),
]

SMALL_DEPARTMENTS = [
    ("樱之美化妆品", None, "总经理", None, 0, False),
    ("品牌部", 0, "品牌总监", "品牌经理", 6, False),
    ("门店运营部", 0, "运营总监", "店长", 9, False),
    ("电商部", 0, "电商总监", "运营专员", 6, False),
    ("Tokyo Office", 0, "Country Manager", "Sales Representative", 4, True),
]

SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
            ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"), ("何", "he"), ("郭", "guo"),
            ("马", "ma"), ("罗", "luo"), ("梁", "liang"), ("宋", "song"), ("郑", "zheng"), ("谢", "xie")]
GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
         ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
         ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("霞", "xia"),
         ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"), ("建华", "jianhua"), ("志强", "zhiqiang"),
         ("晓燕", "xiaoyan"), ("海峰", "haifeng"), ("雨婷", "yuting"), ("子涵", "zihan"), ("浩然", "haoran"),
         ("思远", "siyuan"), ("欣怡", "xinyi"), ("宇轩", "yuxuan"), ("梓萱", "zixuan")]
FIRST = ["Emily", "James", "Olivia", "Daniel", "Sophia", "Ethan", "Chloe", "Lucas", "Grace", "Ryan",
         "Hannah", "Nathan", "Aisha", "Marcus", "Priya", "Wei Ming", "Siti", "Kevin", "Rachel", "Arjun"]
LAST = ["Tan", "Lim", "Ng", "Wong", "Lee", "Smith", "Kumar", "Fernandez", "Goh", "Chua", "Taylor", "Brown"]


@dataclass
class DemoResult:
    tenant: Tenant
    admin: Person
    password: str
    created: bool
    people: int
    departments: int


def _people_names(rng: random.Random, english: bool):
    """An endless stream of (display name, login stem) pairs."""
    while True:
        if english:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            yield f"{first} {last}", f"{first.split()[0].lower()}.{last.lower()}"
        else:
            (s, sp), (g, gp) = rng.choice(SURNAMES), rng.choice(GIVEN)
            yield s + g, f"{sp}.{gp}"


def create_demo(slug: str, name: str, host: str, *, departments=DEPARTMENTS, email_domain: str,
                is_default: bool = False) -> DemoResult:
    """Create a demo tenant and its org; if it exists, keep it and give its admin a fresh one-time password."""
    password = generate_one_time_password()
    tenant = Tenant.get_or_none(Tenant.slug == slug)
    with db.atomic():
        if tenant is not None:
            admin = TenantScope(tenant).select(Person).where(Person.login == "admin").first()
            if admin is None:
                raise RuntimeError(f"tenant {slug} exists but has no 'admin' account; it was not made by the demo")
            admin.password_hash, admin.must_change_password, admin.is_active = hash_password(password), True, True
            admin.session_epoch += 1
            admin.save()
            created = False
        else:
            tenant = create_tenant(slug, name, [host], is_default=is_default and Tenant.default() is None,
                                   timezone="Asia/Shanghai")
            admin = _build_org(tenant, password, departments, email_domain)
            created = True
    scope = TenantScope(tenant)
    return DemoResult(tenant, admin, password, created, scope.select(Person).count(), scope.select(Department).count())


def _build_org(tenant: Tenant, password: str, departments_spec, email_domain: str) -> Person:
    rng = random.Random(20261122)
    used: set[str] = set()

    def add_person(name_stream, title, dept, manager, **extra):
        display, stem = next(name_stream)
        login, n = stem, 1
        while login in used:
            n += 1
            login = f"{stem}{n}"
        used.add(login)
        email, mobile = f"{login}@{email_domain}", f"+86 138{rng.randrange(10**8):08d}"
        person = Person.create(tenant=tenant, login=login, display_name=display, title=title, email=email,
                               mobile=mobile, employee_no=f"D{len(used):05d}", manager=manager,
                               search_key=person_search_key(display, login, email, mobile, title), **extra)
        Membership.create(tenant=tenant, person=person, department=dept, is_primary=True)
        return person

    departments, heads = [], []
    for order, (name, parent, head_title, member_title, members, english) in enumerate(departments_spec):
        dept = Department.create(tenant=tenant, name=name, sort_order=order,
                                 parent=departments[parent] if parent is not None else None)
        names = _people_names(rng, english)
        boss = heads[parent] if parent is not None else None
        head = add_person(names, head_title, dept, boss)
        dept.head = head
        dept.save()
        departments.append(dept)
        heads.append(head)
        for _ in range(members):
            add_person(names, member_title, dept, head)
    admin = Person.create(tenant=tenant, login="admin", display_name="演示管理员 Demo Admin", title="IT 管理员",
                          email=f"admin@{email_domain}", role="admin", manager=heads[1],
                          search_key=person_search_key("演示管理员 Demo Admin", "admin", f"admin@{email_domain}"),
                          password_hash=hash_password(password), must_change_password=True)
    Membership.create(tenant=tenant, person=admin, department=departments[1], is_primary=True)
    return admin
