"""An org chart for the work circle, images to post, and helpers."""
import io

import pytest
from PIL import Image

from app.org.service import save_department
from tests.conftest import make_person


@pytest.fixture
def org(tenant):
    """HQ > Sales > East, HQ > Engineering. Ada is an admin in HQ; Nod has no department."""
    hq = save_department(tenant, None, {"name": "总部 HQ"})
    sales = save_department(tenant, None, {"name": "Sales", "parent_id": str(hq.id)})
    east = save_department(tenant, None, {"name": "East", "parent_id": str(sales.id)})
    eng = save_department(tenant, None, {"name": "Engineering", "parent_id": str(hq.id)})
    people = {
        "ada": make_person(tenant, "ada", role="admin", display_name="Ada Admin", department_ids=[str(hq.id)]),
        "sam": make_person(tenant, "sam", display_name="Sam Sales", department_ids=[str(sales.id)]),
        "ed": make_person(tenant, "ed", display_name="Ed East", department_ids=[str(east.id)]),
        "eve": make_person(tenant, "eve", display_name="Eve Eng", department_ids=[str(eng.id)]),
        "nod": make_person(tenant, "nod", display_name="Nod Nobody"),
    }
    return {"tenant": tenant, "hq": hq, "sales": sales, "east": east, "eng": eng, **people}


def photo(size=(64, 48), color=(200, 30, 30), fmt="JPEG") -> bytes:
    """A small picture with EXIF that names a camera, for posting."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    out = io.BytesIO()
    image.save(out, fmt, **({"exif": exif} if fmt == "JPEG" else {}))
    return out.getvalue()
