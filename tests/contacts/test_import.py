"""CSV import: a preview lists each row's errors before anything is saved; the import saves every row or none."""
import io

import pytest

from app.contacts import service
from app.contacts.models import Contact, ContactImport, ContactTag, Interaction
from app.org.service import deactivate_person
from app.validation import ValidationError
from tests.conftest import csrf_from
from tests.contacts.conftest import client_for

GOOD = ("name,company,kind,phones,tags,owner,note\r\n"
        "王芳,示例贸易,customer,+86 138 0013 8000;010 6552 9988,Key account;North region,,First met at the fair\r\n"
        "Zhang Min,Acme Parts,供应商,13900139000,,zhao,\r\n")


def upload(client, content: bytes, name="contacts.csv"):
    page = client.get("/contacts/import").get_data(as_text=True)
    return client.post("/contacts/import", data={"file": (io.BytesIO(content), name),
                                                 "csrf_token": csrf_from(page)}, content_type="multipart/form-data")


def test_preview_then_import_everything(app, team):
    li = client_for(app, "li")
    sent = upload(li, GOOD.encode())
    assert sent.status_code == 302
    preview_url = sent.headers["Location"]
    page = li.get(preview_url).get_data(as_text=True)
    assert "2 rows" in page and "no errors" in page and "Import 2 contacts" in page
    assert Contact.select().count() == 0                       # nothing saved by the preview
    done = li.post(preview_url, data={"csrf_token": csrf_from(page)})
    assert done.status_code == 302 and done.headers["Location"] == "/contacts/?which=mine"
    wang_fang = Contact.get(Contact.name == "王芳")
    data = service.contact_json(team["tenant"], wang_fang)
    assert [p["normalized"] for p in data["phones"]] == ["8613800138000", "861065529988"]
    assert [p["label"] for p in data["phones"]] == ["mobile", "work"]
    assert sorted(t["name"] for t in data["tags"]) == ["Key account", "North region"]
    assert data["owner"]["id"] == team["li"].id
    assert [(e.kind, e.body) for e in service.history(team["tenant"], wang_fang)][:1] == [("note",
                                                                                           "First met at the fair")]
    zhang = Contact.get(Contact.name == "Zhang Min")
    assert (zhang.kind, zhang.owner_id) == ("supplier", team["zhao"].id)
    assert ContactImport.select().count() == 0                 # the upload is gone once imported
    assert li.get(preview_url).status_code == 404


def test_every_rows_errors_are_listed_and_nothing_can_be_imported(app, team):
    deactivate_person(team["sun"])
    text = ("Name,Phone,Email,Owner,Kind,Tags\n"
            "Good One,13800138000,good@example.com,,,\n"
            ",not a number,bad-email,,,\n"
            "Third,13700137000,,sun,enemy,a\u202eb\n"
            "Fourth,12,,nobody,,\n")
    li = client_for(app, "li")
    preview_url = upload(li, text.encode()).headers["Location"]
    page = li.get(preview_url).get_data(as_text=True)
    assert "4 rows" in page and "3 rows have errors" in page and 'id="import-confirm"' not in page
    assert "Nothing is imported while a row has errors." in page
    row3 = page.split('data-line="3"')[1].split("</tr>")[0]
    assert "name: This field is required." in row3 and "phones: Not a valid phone number." in row3
    assert "email: Not a valid email address." in row3
    row4 = page.split('data-line="4"')[1].split("</tr>")[0]
    assert "owner: No active colleague has the login name sun." in row4
    assert "kind: Choose customer, supplier or partner." in row4 and "tags: Contains characters" in row4
    assert "row-ok" in page.split('data-line="2"')[0][-80:]
    # Posting the import anyway saves nothing.
    refused = li.post(preview_url, data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 400 and Contact.select().count() == 0 and ContactTag.select().count() == 0


def test_the_import_is_all_or_nothing_when_things_change_after_the_preview(app, team):
    li = client_for(app, "li")
    preview_url = upload(li, GOOD.encode()).headers["Location"]
    page = li.get(preview_url).get_data(as_text=True)
    assert "no errors" in page
    deactivate_person(team["zhao"])                 # the second row's owner leaves before the import
    refused = li.post(preview_url, data={"csrf_token": csrf_from(page)})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "No active colleague has the login name zhao." in text
    assert Contact.select().count() == 0 and Interaction.select().count() == 0


def test_an_import_failing_in_the_database_leaves_nothing(team, monkeypatch):
    upload_row = service.start_import(team["tenant"], team["li"], "c.csv", GOOD.encode())
    real = service._write
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "_write", failing)
    with pytest.raises(RuntimeError):
        service.run_import(team["tenant"], team["li"], upload_row)
    assert Contact.select().count() == 0 and Interaction.select().count() == 0 and ContactImport.select().count() == 1


def test_gb18030_files_semicolons_and_chinese_headers(app, team):
    text = "姓名;公司;电话;负责人\n李雷;华东电子;021-6888 8888;\n"
    preview = service.preview_import(team["tenant"], team["li"], service.decode_upload(text.encode("gb18030")))
    assert preview.ok and preview.rows[0].clean.name == "李雷"
    assert preview.rows[0].clean.phones[0][2] == "862168888888"


@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty."),
    (b"   \n", "The file is empty."),
    (b"\x00\x01\x02\xff\xfe" * 10, "not a text file"),
])
def test_files_that_are_not_csv_text_are_refused_at_upload(app, team, content, message):
    li = client_for(app, "li")
    response = upload(li, content)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert ContactImport.select().count() == 0


@pytest.mark.parametrize("text, problem", [
    ("company,phones\nAcme,13800138000\n", "The file needs a “name” column."),
    ("name,colour\nA,red\n", "Unknown column “colour”"),
    ("name,姓名\nA,B\n", "appears twice"),
    ("name\n", "has a header but no contacts"),
    ("name\n" + "A\n" * (service.MAX_IMPORT_ROWS + 1), "At most 2000 rows"),
])
def test_problems_with_the_file_as_a_whole(team, text, problem):
    preview = service.preview_import(team["tenant"], team["li"], text)
    assert not preview.ok and any(problem in p for p in preview.problems), preview.problems


def test_a_file_over_the_size_limit_is_refused(team):
    # Checked on the function: the test client spools a body this large to a file it never closes.
    with pytest.raises(ValidationError, match="larger than 2 MB"):
        service.decode_upload(b"x" * (service.MAX_IMPORT_BYTES + 1))


def test_a_row_with_more_cells_than_the_header_is_an_error(team):
    preview = service.preview_import(team["tenant"], team["li"], "name,company\nA,B,C\n")
    assert preview.errors == 1 and "more cells than the header" in preview.rows[0].errors[0][1]


def test_uploads_are_private_and_no_file_is_an_error(app, team):
    li = client_for(app, "li")
    preview_url = upload(li, GOOD.encode()).headers["Location"]
    assert client_for(app, "zhao").get(preview_url).status_code == 404
    page = li.get("/contacts/import").get_data(as_text=True)
    missing = li.post("/contacts/import", data={"csrf_token": csrf_from(page)}, content_type="multipart/form-data")
    assert missing.status_code == 400 and "Choose a CSV file." in missing.get_data(as_text=True)
    template = li.get("/contacts/import/template.csv")
    assert template.status_code == 200 and template.mimetype == "text/csv"
    preview = service.preview_import(team["tenant"], team["li"], template.get_data(as_text=True).lstrip("\ufeff"))
    assert preview.ok and len(preview.rows) == 1


def test_old_uploads_are_dropped(team):
    import datetime

    from app.db import utcnow
    old = service.start_import(team["tenant"], team["li"], "old.csv", GOOD.encode(),
                               now=utcnow() - datetime.timedelta(days=2))
    service.start_import(team["tenant"], team["li"], "new.csv", GOOD.encode())
    assert ContactImport.get_or_none(ContactImport.id == old.id) is None
    with pytest.raises(ValidationError):
        service.start_import(team["tenant"], team["li"], "e.csv", b"")
