"""Raw mail -> ParsedMail over the corpus: charsets, quoting, attachments, loops and bounces, with concrete values."""
from __future__ import annotations

import dataclasses
import random
import re
import time
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from channels_plugins.email.bounces import Bounce, parse_bounce
from channels_plugins.email.loops import LOOP_HEADER, automated_reason, automatic_headers, is_ours, loop_headers
from channels_plugins.email.mime import (
    FORWARD_HEADER,
    ParsedMail,
    decode_text,
    html_to_text,
    parse_mail,
    split_reply,
    unflow,
)

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
LOOP_TOKEN = "8c1f0e4a2b7d"  # the token our own mail in the corpus carries
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def raw(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def parse(name: str, **limits: int) -> ParsedMail:
    return parse_mail(raw(name), loop_token=LOOP_TOKEN, **limits)


def message(data: bytes) -> EmailMessage:
    return message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def with_headers(name: str, *, drop: tuple[str, ...]) -> bytes:
    """A corpus mail with some (single-line) header fields removed."""
    data = raw(name)
    crlf, lf = data.find(b"\r\n\r\n"), data.find(b"\n\n")
    newline = b"\r\n" if crlf != -1 and (lf == -1 or crlf < lf) else b"\n"
    head, separator, body = data.partition(newline * 2)
    kept = [line for line in head.split(newline)
            if not any(line.lower().startswith(f"{field.lower()}:".encode()) for field in drop)]
    return newline.join(kept) + separator + body


# --- The corpus as a whole ----------------------------------------------------------------------------------------

CORPUS_FILES = sorted(path.name for path in CORPUS.glob("*.eml"))


def test_the_readme_describes_every_corpus_file():
    readme = (CORPUS / "README.md").read_text()
    described = set(re.findall(r"^\| `([^`]+\.eml)` \|", readme, re.MULTILINE))
    assert described == set(CORPUS_FILES)
    assert len(CORPUS_FILES) >= 20


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_corpus_mail_gives_clean_storable_values(name: str):
    data = raw(name)
    parsed = parse_mail(data)
    assert parsed.size == len(data)
    for field in dataclasses.fields(parsed):
        value = getattr(parsed, field.name)
        for text in value if isinstance(value, tuple) else (value,):
            if isinstance(text, str):
                # PostgreSQL text refuses NUL; lone surrogates cannot be encoded.
                assert "\x00" not in text and not re.search(r"[\ud800-\udfff]", text), (field.name, text)
    if parsed.date is not None:
        assert parsed.date.tzinfo is not None
    for attachment in parsed.attachments:
        assert attachment.filename and "/" not in attachment.filename and "\\" not in attachment.filename
        assert re.fullmatch(r"[\w.+-]+/[\w.+-]+", attachment.content_type)


# --- Replies from the big clients ---------------------------------------------------------------------------------

def test_outlook_reply_references_without_in_reply_to_and_dutch_quote_block():
    parsed = parse("outlook_reply.eml")
    assert parsed.message_id == "AM0PR07MB43217C1B9F3E4D5A6B7C8D9EA1B2C@AM0PR07MB4321.eurprd07.prod.outlook.com"
    assert parsed.in_reply_to == ""
    assert parsed.references == (
        "AM0PR07MB4321E1D2C3B4A5968778695A4B3C@AM0PR07MB4321.eurprd07.prod.outlook.com",
        "omnidesk.41.7f3a9c@gemeente-voorbeeld.nl",
    )
    assert parsed.subject == "RE: Kapotte lantaarnpaal Dorpsstraat 12 [#42]"
    assert parsed.from_address == "j.devries@bouwbedrijf-devries.nl"
    assert parsed.from_name == "Vries, Jan de"
    assert parsed.to == ("info@gemeente-voorbeeld.nl",)
    assert parsed.date == datetime(2025, 3, 4, 16, 47, 3, tzinfo=timezone.utc)
    assert parsed.automated == "" and parsed.bounce is None and parsed.ours is False
    assert parsed.text.startswith("Goedemiddag,\n\nDe lantaarnpaal voor Dorpsstraat 12 is gisteren gerepareerd")
    assert "Ik heb de buurtbewoners hierover geïnformeerd; één van hen belt u morgen ook nog." in parsed.text
    assert parsed.text.endswith("Jan de Vries\nDorpsstraat 14\n1234 AB  Voorbeeld")
    assert "Van:" not in parsed.text and "monteur van Openbare Verlichting" not in parsed.text
    assert parsed.quoted.startswith("Van: Gemeente Voorbeeld <info@gemeente-voorbeeld.nl>\n"
                                    "Verzonden: maandag 3 maart 2025 09:15\n")
    assert parsed.quoted.endswith("Anna de Boer\nTeam Openbare Ruimte | Gemeente Voorbeeld")
    # Word HTML: styles, Office namespaces and conditional comments gone; the words stay.
    assert "<p>Goedemiddag,</p>" in parsed.html
    assert "ge&iuml;nformeerd" not in parsed.html and "geïnformeerd" in parsed.html
    for gone in ("<style", "MsoNormal", "<o:p", "mso 9", "font-family", "<head", "<html"):
        assert gone not in parsed.html


def test_gmail_reply_splits_at_the_wrapped_dutch_attribution():
    parsed = parse("gmail_reply.eml")
    assert parsed.from_name == "Renée Smits"
    assert parsed.from_address == "renee.smits1978@gmail.com"
    assert parsed.in_reply_to == "omnidesk.57.c0ffee@gemeente-voorbeeld.nl"
    assert parsed.references == ("CAJx8kq1y=Qm3vP0kX9r_2u8Lw5tB6nC7xZ@mail.gmail.com",
                                 "omnidesk.57.c0ffee@gemeente-voorbeeld.nl")
    assert parsed.date == datetime(2025, 3, 5, 8, 31, 22, tzinfo=timezone(timedelta(hours=1)))
    assert parsed.text == (
        "Goedemorgen,\n\nDank u wel voor het snelle antwoord. Ik heb het formulier ingevuld; hierbij\n"
        "nog de vraag of de vergunning ook geldt voor de tweede auto (kenteken\n"
        "GX-512-K). De kosten van € 95 per jaar zijn geen probleem.\n\nGroet,\nRenée Smits"
    )
    assert parsed.quoted.startswith("Op di 4 mrt 2025 om 16:05 schreef Gemeente Voorbeeld <\n"
                                    "info@gemeente-voorbeeld.nl>:\n\n> Beste mevrouw Smits,")
    assert "> Team Parkeren" in parsed.quoted
    assert "<blockquote>" in parsed.html and "gmail_quote" not in parsed.html and "style=" not in parsed.html
    assert 'href="mailto:info@gemeente-voorbeeld.nl"' in parsed.html


def test_apple_mail_flowed_text_in_two_parts_around_an_inline_pdf():
    parsed = parse("apple_mail.eml")
    assert parsed.message_id == "8C3E1F2A-6B4D-4A9E-B7C1-2D3E4F5A6B7C@me.com"
    assert parsed.in_reply_to == "omnidesk.63.9b1d@gemeente-voorbeeld.nl"
    assert parsed.text == (
        "Beste mevrouw De Boer,\n\n"
        "Dank voor uw snelle reactie. In de bijlage vindt u de plattegrond met de gewenste plek voor de "
        "gehandicaptenparkeerplaats, vlak bij de ingang van nummer 8.\n\n"
        "Mijn vrouw heeft een Europese gehandicaptenparkeerkaart (kopie volgt per post).\n\n"
        "Met vriendelijke groet,\nPieter Bakker"
    )
    assert parsed.quoted.splitlines()[:3] == [
        "> Op 6 mrt. 2025, om 10:02 heeft Gemeente Voorbeeld <info@gemeente-voorbeeld.nl> het volgende geschreven:",
        ">",
        "> Beste meneer Bakker,",
    ]
    assert "> Wilt u op een plattegrond aangeven waar u de parkeerplaats wilt hebben?" in parsed.quoted
    [pdf] = parsed.attachments
    assert (pdf.filename, pdf.content_type, len(pdf.content)) == ("Plattegrond parkeerplaats.pdf", "application/pdf", 622)
    assert pdf.content.startswith(b"%PDF-1.4") and pdf.content.rstrip().endswith(b"%%EOF")
    assert (pdf.content_id, pdf.inline) == ("", False)  # "inline" placement only; not a cid: image
    assert parsed.html == ""


def test_html_only_mail_is_sanitised_and_gives_text():
    parsed = parse("html_only.eml")
    assert parsed.from_name == "Mehmet Yılmaz"
    assert parsed.text == (
        "Beste gemeente,\n\nIn onze straat (Lindelaan) staan sinds maandag drie containers vol met grofvuil:\n\n"
        "- een bank\n- twee matrassen\n- oud ijzer & hout\n\n"
        "De kosten van het ophalen (€ 35) wil ik wel betalen. Zie ook de pagina over grofvuil en deze link.\n\n"
        "Met vriendelijke groet,\nMehmet Yılmaz\nLindelaan 23"
    )
    assert parsed.quoted == ""
    html = parsed.html.lower()
    for gone in ("<script", "document.cookie", "onerror", "onload", "onclick", "javascript:", "<style", "<iframe",
                 "track.example-mailer.com", "evil.example", "background", "<title"):
        assert gone not in html, gone
    assert '<a href="https://www.gemeente-voorbeeld.nl/grofvuil" rel="noopener noreferrer nofollow">' in parsed.html
    assert "<li>oud ijzer &amp; hout</li>" in parsed.html
    assert "€&nbsp;35" in parsed.html


# --- Charsets ------------------------------------------------------------------------------------------------------

def test_iso_8859_1_body_and_encoded_words():
    parsed = parse("iso_8859_1.eml")
    assert parsed.subject == "Oversteekplaats bij café 't Hoekje"
    assert parsed.from_name == "Gérard Müller"
    assert parsed.from_address == "g.muller@planet.nl"
    assert parsed.text == (
        "Geachte heer, mevrouw,\n\n"
        "Mijn dochter Zoë (groep 7) loopt elke ochtend over de Brinklaan naar school.\n"
        "Sinds de herinrichting is de oversteekplaats bij café 't Hoekje niet meer\n"
        "goed zichtbaar: de geïnstalleerde lampen geven te weinig licht en de\n"
        "struiken zijn te hoog. Ik maak mij daar zorgen over, en andere ouders ook.\n\n"
        "Zou u de situatie willen bekijken? Een financiële bijdrage van de\n"
        "buurtvereniging voor het snoeien is bespreekbaar.\n\n"
        "Met vriendelijke groet,\n\nGérard Müller\nBrinklaan 3"
    )


def test_iso_8859_1_label_on_windows_1252_text_is_read_as_windows_1252():
    parsed = parse("windows_1252.eml")
    assert parsed.text == (
        "Geachte heer/mevrouw,\n\n"
        "Vorige week ontving ik een naheffingsaanslag van € 65,00 voor parkeren op de ‘buitenplaats’ bij het "
        "gemeentehuis. Op het bord staat echter “Parkeren Centrum – vergunninghouders en bezoekers”… en ik was "
        "bezoeker.\n\nIk verzoek u de aanslag in te trekken.\n\nMet vriendelijke groet,\n\nHanneke Vermeulen"
    )
    assert not re.search("[\x80-\x9f]", parsed.text)


def test_text_without_charset_is_detected():
    parsed = parse("missing_charset.eml")
    assert "Naam: Esmée Janssen" in parsed.text
    assert "Het hek heeft €250 borg gekost" in parsed.text
    assert parsed.text.endswith("kinderen spelen daar ’s middags.")
    assert parsed.reply_to == ("esmee.janssen@kpnmail.nl",)
    assert parsed.from_address == "meldingen@woonstichting-delinde.nl"


def test_declared_utf8_that_is_not_utf8_is_detected():
    parsed = parse("wrong_charset.eml")
    assert parsed.text == (
        "Beste mensen van de gemeente,\n\nBij de bushalte Kerkplein is de abri kapot: één ruit ligt eruit, overal "
        "glas. Kunt u dat laten opruimen?\n\nGroeten, Loïs"
    )


@pytest.mark.parametrize(("payload", "declared", "expected"), [
    ("Prijs: € 12 “netto”".encode("cp1252"), "iso-8859-1", "Prijs: € 12 “netto”"),
    ("café".encode("latin-1"), "ISO-8859-1", "café"),
    ("één café".encode("utf-8"), "iso-8859-1", "één café"),  # UTF-8 under a Latin-1 label
    ("één café".encode("utf-8"), "us-ascii", "één café"),  # 8-bit under the 7-bit default
    ("één café".encode("utf-8"), None, "één café"),
    ("één café".encode("utf-8"), "x-unknown", "één café"),
    ("Grüße".encode("utf-8"), "base64", "Grüße"),  # a codec, but not a text encoding
    ("Здравствуйте, когда починят фонарь на нашей улице?".encode("koi8-r"), "koi8-r",
     "Здравствуйте, когда починят фонарь на нашей улице?"),
    (b"plain ascii", "utf-8", "plain ascii"),
])
def test_decode_text(payload: bytes, declared: str | None, expected: str):
    assert decode_text(payload, declared) == expected


def test_undecodable_bytes_never_raise():
    assert decode_text(b"\x81\x8d\x8f\x90\x9d", "windows-1252")  # five bytes Windows-1252 leaves undefined
    assert decode_text(b"", None) == ""


# --- Headers and file names ----------------------------------------------------------------------------------------

def test_rfc2047_subject_from_and_rfc2231_filename():
    parsed = parse("rfc2047_subject.eml")
    assert parsed.subject == "Bezwaar tegen naheffingsaanslag parkeerbelasting – kenteken XX-123-Y (€ 65,00)"
    assert parsed.from_name == "René Bakker"
    assert parsed.from_address == "r.bakker@kpnmail.nl"  # lower-cased
    assert parsed.cc == ("jose.bakker@kpnmail.nl",)
    assert parsed.text == (
        "Geachte heer/mevrouw,\n\n"
        "Hierbij teken ik bezwaar aan tegen de naheffingsaanslag van € 65,00 van 3 maart. Ik had een geldige "
        "bezoekersvergunning, zie het bezwaarschrift in de bijlage.\n\nMet vriendelijke groet,\n\nRené Bakker"
    )
    [pdf] = parsed.attachments
    assert pdf.filename == "Bezwaarschrift naheffingsaanslag – René Bakker.pdf"
    assert (pdf.content_type, len(pdf.content)) == ("application/pdf", 613)


def test_legacy_filename_encodings():
    parsed = parse("legacy_filenames.eml")
    assert [(a.filename, a.content_type, len(a.content)) for a in parsed.attachments] == [
        ("Aanvraag ontheffing één dag.doc", "application/msword", 55),  # RFC 2047 in name= only
        ("Situatie café Noorderplein.pdf", "application/pdf", 609),  # raw Latin-1 bytes
        ("Geluidsmeting Zoë 2024.csv", "text/csv", 42),  # raw UTF-8 bytes in name= only
    ]
    assert parsed.attachments[2].content == b"tijd;dB(A)\r\n20:00;71\r\n22:00;68\r\n23:00;64\r\n"
    assert parsed.text.startswith("Geachte heer/mevrouw,\n\nBijgaand de aanvraag")


def test_path_components_in_filenames_are_dropped():
    mail = EmailMessage()
    mail["From"] = "a@example.nl"
    mail.set_content("zie bijlage")
    mail.add_attachment(b"x", maintype="application", subtype="octet-stream", filename="../../etc/passwd")
    mail.add_attachment(b"y", maintype="application", subtype="pdf", filename="C:\\Users\\jan\\brief.pdf")
    assert [a.filename for a in parse_mail(mail.as_bytes()).attachments] == ["passwd", "brief.pdf"]


def test_dates_without_zone_are_utc():
    data = b"From: a@example.nl\nDate: Tue, 11 Mar 2025 09:15:00 -0000\nSubject: x\n\nhallo\n"
    assert parse_mail(data).date == datetime(2025, 3, 11, 9, 15, tzinfo=timezone.utc)


# --- Attachments ---------------------------------------------------------------------------------------------------

def test_inline_cid_image_and_normal_attachment():
    parsed = parse("inline_image.eml")
    logo, photo = parsed.attachments
    assert (logo.filename, logo.content_type, len(logo.content)) == ("image001.png", "image/png", 73)
    assert logo.content_id == "image001.png@01DB93F2.4A6C8E10" and logo.inline is True
    assert logo.content.startswith(PNG_SIGNATURE)
    assert (photo.filename, photo.content_type, len(photo.content)) == ("essen Molenweg.png", "image/png", 78)
    assert photo.content_id == "" and photo.inline is False
    assert '<img width="8" height="8" src="cid:image001.png@01DB93F2.4A6C8E10" alt="Logo Groen &amp; Zn.">' \
        in parsed.html
    assert parsed.text.endswith("Sanne Groen\nHoveniersbedrijf Groen & Zn.")


def test_attachments_over_the_size_limit_are_named_not_kept():
    small = parse("large_attachment.eml", max_attachment_bytes=100_000)
    assert small.dropped == ("scan_bezwaarschrift.pdf",)
    assert [(a.filename, len(a.content)) for a in small.attachments] == [("voorgevel.png", 78)]
    full = parse("large_attachment.eml")
    assert full.dropped == ()
    assert [(a.filename, a.content_type, len(a.content)) for a in full.attachments] == [
        ("scan_bezwaarschrift.pdf", "application/pdf", 150_629), ("voorgevel.png", "image/png", 78)]
    assert full.text == ("Geachte heer/mevrouw,\n\nIn de bijlage de scan van mijn bezwaarschrift tegen de "
                         "WOZ-beschikking 2025 en een foto van de voorgevel.\n\nMet vriendelijke groet,\nWillem Bos")


def test_attachments_over_the_count_limit_are_named_not_kept():
    parsed = parse("legacy_filenames.eml", max_attachments=1)
    assert [a.filename for a in parsed.attachments] == ["Aanvraag ontheffing één dag.doc"]
    assert parsed.dropped == ("Situatie café Noorderplein.pdf", "Geluidsmeting Zoë 2024.csv")


def test_forwarded_mail_is_kept_as_eml_and_its_text_and_files_shown():
    parsed = parse("forwarded.eml")
    eml, pdf = parsed.attachments
    assert (eml.filename, eml.content_type) == ("Planning herbestrating Molenweg.eml", "message/rfc822")
    assert parse_mail(eml.content).subject == "Planning herbestrating Molenweg"
    assert (pdf.filename, pdf.content_type, len(pdf.content)) == ("Planning herbestrating.pdf", "application/pdf", 622)
    comment, _, forward = parsed.text.partition("\n\n" + FORWARD_HEADER + "\n")
    assert comment.startswith("Goedemorgen,\n\nHieronder de mail van de aannemer.")
    assert comment.endswith("Marieke de Wit")
    assert forward == (
        "From: Planning Van Dijk Wegenbouw <planning@wegenbouw-vandijk.nl>\n"
        "Date: Fri, 14 Mar 2025 17:22:11 +0100\n"
        "Subject: Planning herbestrating Molenweg\n"
        "To: Bewoners Molenweg <bewoners-molenweg@wegenbouw-vandijk.nl>\n\n"
        "Beste bewoner,\n\nVan 24 maart tot en met 11 april herbestraten wij de Molenweg. In die periode zijn de "
        "inritten van nummer 2 tot en met 40 niet bereikbaar met de auto.\n\nMet vriendelijke groet,\n"
        "Van Dijk Wegenbouw B.V."
    )
    assert parsed.quoted == ""
    limited = parse("forwarded.eml", max_attachments=1)
    assert [a.filename for a in limited.attachments] == ["Planning herbestrating Molenweg.eml"]
    assert limited.dropped == ("Planning herbestrating.pdf",)


def test_winmail_dat_is_unpacked():
    parsed = parse("winmail_dat.eml")
    photo = parse("inline_image.eml").attachments[1].content  # the same photo, sent the normal way
    assert [(a.filename, a.content_type, len(a.content)) for a in parsed.attachments] == [
        ("foto lantaarnpaal.png", "image/png", 78), ("Situatieschets Kerkstraat.pdf", "application/pdf", 609)]
    assert parsed.attachments[0].content == photo
    assert parsed.attachments[1].content.startswith(b"%PDF-1.4")
    assert parsed.text.startswith("Geachte heer/mevrouw,\n\nIn de bijlage vindt u een foto van de kapotte")
    assert parsed.text.endswith("Petra Jansen\nCafé De Hoek")


def test_winmail_dat_body_is_used_when_the_mail_has_none():
    parsed = parse("winmail_dat_only.eml")
    assert [a.filename for a in parsed.attachments] == ["foto lantaarnpaal.png", "Situatieschets Kerkstraat.pdf"]
    assert parsed.text == (
        "Geachte heer/mevrouw,\n\nIn de bijlage vindt u een foto van de kapotte lantaarnpaal bij Kerkstraat 7 en "
        "een situatieschets. De paal staat scheef sinds de storm van afgelopen week.\n\n"
        "Met vriendelijke groet,\n\nPetra Jansen\nCafé De Hoek"
    )


def test_unreadable_winmail_dat_is_kept_as_it_is():
    mail = EmailMessage()
    mail["From"] = "p.jansen@cafedehoek.nl"
    mail.set_content("Zie bijlage.")
    mail.add_attachment(b"\x78\x9f\x3e\x22 broken", maintype="application", subtype="ms-tnef", filename="winmail.dat")
    parsed = parse_mail(mail.as_bytes())
    assert [(a.filename, a.content_type, a.content) for a in parsed.attachments] == [
        ("winmail.dat", "application/ms-tnef", b"\x78\x9f\x3e\x22 broken")]
    assert parsed.text == "Zie bijlage."


# --- Quoted earlier mail -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "new", "quoted_start"), [
    # Outlook on the web: the separator line goes with the quote.
    ("Klopt, dank u.\n\n________________________________\nVan: Gemeente Voorbeeld <info@gemeente-voorbeeld.nl>\n"
     "Verzonden: dinsdag 4 maart 2025 09:15\nAan: Jan <jan@example.nl>\nOnderwerp: Vraag\n\nBeste Jan,",
     "Klopt, dank u.", "________________________________\nVan: Gemeente Voorbeeld"),
    ("Prima.\n\n-----Original Message-----\nFrom: Gemeente Voorbeeld\nSent: Tuesday\n\noud",
     "Prima.", "-----Original Message-----"),
    ("Prima.\n\n-----Oorspronkelijk bericht-----\nVan: Gemeente Voorbeeld\nVerzonden: dinsdag\n\noud",
     "Prima.", "-----Oorspronkelijk bericht-----"),
    ("Thanks!\n\nOn Tue, Mar 4, 2025 at 9:15 AM Gemeente Voorbeeld <info@gemeente-voorbeeld.nl> wrote:\n\n> old",
     "Thanks!", "On Tue, Mar 4, 2025 at 9:15 AM"),
    # An attribution in a language the library does not know, then a block of > lines: split at the attribution.
    ("Merci.\n\nLe 4 mars 2025 à 09:15, Gemeente <info@gemeente-voorbeeld.nl> a écrit :\n> oud\n>\n> ouder",
     "Merci.", "Le 4 mars 2025 à 09:15"),
    ("Ja.\n\n> Komt u dinsdag?\n", "Ja.", "> Komt u dinsdag?"),
])
def test_split_reply(text: str, new: str, quoted_start: str):
    got_new, got_quoted = split_reply(text)
    assert got_new == new
    assert got_quoted.startswith(quoted_start)
    assert all(line.strip() in f"{got_new}\n{got_quoted}" for line in text.splitlines())  # nothing thrown away


@pytest.mark.parametrize("text", [
    "Gewoon een vraag zonder citaat.\n\nGroet, Jan",
    "Van: Jan\nAan: gemeente\n\nalleen een kopblok, geen nieuwe tekst",  # split would leave nothing new
    "> vraag 1\nantwoord 1\n> vraag 2\nantwoord 2",  # answers between the quotes: not a trailing quote
])
def test_no_split_keeps_everything_in_text(text: str):
    assert split_reply(text) == (text, "")


def test_long_lines_do_not_make_the_reply_parser_backtrack():
    # mailparser_reply's "Op … schreef:" pattern is slow on long lines (seconds for 8 KB); HTML-derived text has them.
    paragraph = "Op " + "maandag en dinsdag " * 2000
    started = time.monotonic()
    assert split_reply(f"{paragraph}\n\nOp 4 mrt 2025 schreef Gemeente <info@gemeente-voorbeeld.nl>:\n> oud") == (
        paragraph.strip(), "Op 4 mrt 2025 schreef Gemeente <info@gemeente-voorbeeld.nl>:\n> oud")
    assert time.monotonic() - started < 5


def test_html_to_text():
    assert html_to_text(
        "<div>Hoi &amp; dag&nbsp;daar<br>regel 2<ul><li>een</li><li>twee</li></ul></div>"
        "<div>Op di schreef X &lt;x@y&gt;:</div><blockquote><p>oud</p><blockquote>diep</blockquote></blockquote>"
        "<p>na &euro;&#8364;</p>"
    ) == "Hoi & dag daar\nregel 2\n\n- een\n- twee\n\nOp di schreef X <x@y>:\n\n> oud\n>\n>> diep\n\nna €€"


def test_unflow():
    assert unflow("een lange \nregel\n> geciteerd \n> verder\n-- \nJan") == \
        "een lange regel\n> geciteerd verder\n-- \nJan"
    assert unflow("split-\nword", delsp=True) == "split-\nword"
    assert unflow("lan \ng", delsp=True) == "lang"
    assert unflow(" From here") == "From here"  # space-stuffing removed


# --- Loops ---------------------------------------------------------------------------------------------------------

def headers(*lines: str) -> EmailMessage:
    return message(("\n".join(("From: Jan <jan@example.nl>", *lines)) + "\n\nhallo\n").encode())


@pytest.mark.parametrize(("extra", "reason"), [
    ((), ""),
    (("Auto-Submitted: no",), ""),
    (("Auto-Submitted: auto-replied (vacation)",), "auto-submitted"),
    (("Auto-Submitted: auto-generated",), "auto-submitted"),
    (("Return-Path: <>",), "null-sender"),
    (("Return-Path: <<>>",), "null-sender"),
    (("Return-Path: <jan@example.nl>",), ""),
    (("X-Autoreply: yes",), "auto-reply"),
    (("X-Autorespond: Ik ben er niet",), "auto-reply"),
    (("X-Auto-Reply-From: jan@example.nl",), "auto-reply"),
    (("Precedence: bulk",), "bulk"),
    (("Precedence: junk",), "bulk"),
    (("Precedence: list",), "list"),
    (("Precedence: auto_reply",), "auto-reply"),
    (("Precedence: first-class",), ""),
    (("List-Id: Buurt <buurt.lists.example.nl>",), "list"),
    (("List-Unsubscribe: <mailto:leave@example.nl>",), "list"),
    (("X-Auto-Response-Suppress: All",), "suppress"),
    (("X-Auto-Response-Suppress: DR, OOF",), "suppress"),
    (("X-Auto-Response-Suppress: OOF, AutoReply",), "suppress"),
    (("X-Auto-Response-Suppress: DR, RN, NRN",), ""),  # only asks not to send receipts
])
def test_automated_reason(extra: tuple[str, ...], reason: str):
    assert automated_reason(headers(*extra)) == reason


@pytest.mark.parametrize(("sender", "reason"), [
    ("MAILER-DAEMON@mx.example.nl", "mailer-daemon"),
    ("postmaster@example.nl", "mailer-daemon"),
    ("noreply@example.nl", "no-reply"),
    ("no-reply@belastingdienst.example", "no-reply"),
    ("do-not-reply@example.nl", "no-reply"),
    ("donotreply@example.nl", "no-reply"),
    ("noreply+bounces-123@example.nl", "no-reply"),
    ("noreen@example.nl", ""),
    ("postmasters.club@example.nl", ""),
])
def test_machine_senders(sender: str, reason: str):
    assert automated_reason(message(f"From: {sender}\n\nx\n".encode())) == reason


def test_corpus_automated_reasons():
    assert parse("auto_reply.eml").automated == "auto-submitted"
    assert parse_mail(with_headers("auto_reply.eml", drop=("Auto-Submitted",))).automated == "null-sender"
    assert parse_mail(with_headers("auto_reply.eml", drop=("Auto-Submitted", "Return-Path"))).automated == "bulk"
    assert parse("out_of_office.eml").automated == "auto-submitted"
    # Exchange before 2010 marked out-of-office only with X-Auto-Response-Suppress.
    assert parse_mail(with_headers("out_of_office.eml", drop=("Auto-Submitted",))).automated == "suppress"
    assert parse("newsletter_reply.eml").automated == "bulk"
    assert parse_mail(with_headers("newsletter_reply.eml", drop=("Precedence",))).automated == "list"
    assert parse("dsn_bounce.eml").automated == "auto-submitted"
    assert parse_mail(with_headers("dsn_bounce.eml", drop=("Auto-Submitted",))).automated == "null-sender"
    assert parse_mail(with_headers("dsn_bounce.eml", drop=("Auto-Submitted", "Return-Path"))).automated \
        == "mailer-daemon"
    for person in ("outlook_reply.eml", "gmail_reply.eml", "apple_mail.eml", "html_only.eml", "forwarded.eml"):
        assert parse(person).automated == "", person


def test_out_of_office_text():
    parsed = parse("out_of_office.eml")
    assert parsed.subject == "Automatisch antwoord: Aanvraag gehandicaptenparkeerkaart [#80]"
    assert parsed.in_reply_to == "omnidesk.80.5e6f@gemeente-voorbeeld.nl"
    assert parsed.text.startswith("Ik ben afwezig tot maandag 17 maart.")
    assert "Voor vragen over cliëntzaken" in parsed.text
    assert parsed.bounce is None


def test_newsletter_tracking_pixel_does_not_load():
    parsed = parse("newsletter_reply.eml")
    assert "list-manage.com" not in parsed.html
    assert '<img width="1" height="1">' in parsed.html
    assert parsed.text.startswith("** Nieuwsbrief Wijkvereniging Oost - maart 2025")


def test_our_loop_header():
    ours = message(f"From: info@gemeente-voorbeeld.nl\n{LOOP_HEADER}: {LOOP_TOKEN}\n\nx\n".encode())
    assert is_ours(ours, LOOP_TOKEN) is True
    assert is_ours(ours, "another-installation") is False
    assert is_ours(ours, "") is False  # no token configured: nothing is ours
    assert parse_mail(ours.as_bytes(), loop_token=LOOP_TOKEN).ours is True
    assert parse_mail(ours.as_bytes(), loop_token="other").ours is False
    # Our header inside a bounce's returned copy does not make the bounce ours.
    assert parse("dsn_bounce.eml").ours is False
    assert parse("nonstandard_bounce.eml").ours is False


def test_headers_for_our_outgoing_mail():
    assert loop_headers(LOOP_TOKEN) == {"X-Omnidesk-Loop": LOOP_TOKEN}
    assert loop_headers("") == {}
    assert automatic_headers(LOOP_TOKEN) == {
        "Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All", "X-Omnidesk-Loop": LOOP_TOKEN}
    assert automatic_headers(LOOP_TOKEN, "auto-generated")["Auto-Submitted"] == "auto-generated"
    assert "Precedence" not in automatic_headers(LOOP_TOKEN)
    with pytest.raises(ValueError):
        automatic_headers(LOOP_TOKEN, "no")
    # What we send is recognised by the same rules when it comes back.
    mail = EmailMessage()
    mail["From"] = "info@gemeente-voorbeeld.nl"
    for name, value in automatic_headers(LOOP_TOKEN).items():
        mail[name] = value
    mail.set_content("Wij hebben uw bericht ontvangen.")
    assert automated_reason(mail) == "auto-submitted" and is_ours(mail, LOOP_TOKEN)


# --- Bounces -------------------------------------------------------------------------------------------------------

def test_postfix_dsn():
    parsed = parse("dsn_bounce.eml")
    assert parsed.bounce == Bounce(
        original_message_id="omnidesk.42.abc@gemeente-voorbeeld.nl",
        recipient="j.jansen@ziggo.nl",
        status="5.1.1",
        action="failed",
        diagnostic="550 5.1.1 <j.jansen@ziggo.nl>: Recipient address rejected: User unknown",
        permanent=True,
    )
    assert parsed.from_address == "mailer-daemon@mail.gemeente-voorbeeld.nl"
    assert parsed.text.startswith("This is the mail system at host mail.gemeente-voorbeeld.nl.")
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("delivery-status.txt", "message/delivery-status"), ("attachment-2.txt", "text/rfc822-headers")]


def test_delayed_dsn_with_the_original_attached():
    bounce = parse("dsn_delayed.eml").bounce
    assert bounce == Bounce(
        original_message_id="omnidesk.44.b0b@gemeente-voorbeeld.nl",
        recipient="renee.smits1978@gmail.com",
        status="4.4.7",
        action="delayed",
        diagnostic="451 4.4.7 Message delayed",
        permanent=False,
    )
    # The returned copy is evidence, not a forward: no forward block in the text.
    assert FORWARD_HEADER not in parse("dsn_delayed.eml").text


def test_exim_plain_text_bounce():
    assert parse("nonstandard_bounce.eml").bounce == Bounce(
        original_message_id="omnidesk.43.def@gemeente-voorbeeld.nl",
        recipient="p.devries@provider-oost.nl",
        status="5.2.1",
        action="failed",
        diagnostic="550 5.2.1 <p.devries@provider-oost.nl>: Mailbox disabled, not accepting messages",
        permanent=True,
    )


def test_qmail_style_bounce_without_status_code():
    data = (b"Return-Path: <>\nFrom: MAILER-DAEMON@mail.example.nl\nSubject: failure notice\n\n"
            b"Hi. This is the qmail-send program at mail.example.nl.\n"
            b"I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
            b"<Jan@Example.nl>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
            b"--- Below this line is a copy of the message.\n\n"
            b"Message-ID: <omnidesk.9.x@gemeente-voorbeeld.nl>\nSubject: Re: vraag\n")
    assert parse_bounce(message(data)) == Bounce(
        original_message_id="omnidesk.9.x@gemeente-voorbeeld.nl", recipient="jan@example.nl", status="5.1.1",
        action="failed", diagnostic="Sorry, no mailbox here by that name. (#5.1.1)", permanent=True)


def test_long_diagnostics_are_cut():
    long = b"Final-Recipient: rfc822; a@b.nl\nAction: failed\nStatus: 5.7.1\nDiagnostic-Code: smtp; 550 " + b"x" * 900
    report = (b"Return-Path: <>\nFrom: MAILER-DAEMON@b.nl\nMIME-Version: 1.0\n"
              b"Content-Type: multipart/report; report-type=delivery-status; boundary=R\n\n"
              b"--R\nContent-Type: text/plain\n\nfailed\n--R\nContent-Type: message/delivery-status\n\n"
              b"Reporting-MTA: dns; b.nl\n\n" + long + b"\n--R--\n")
    bounce = parse_bounce(message(report))
    assert bounce is not None and bounce.status == "5.7.1" and bounce.original_message_id == ""
    assert len(bounce.diagnostic) == 300 and bounce.diagnostic.startswith("550 xxx")


def test_mail_that_is_no_bounce():
    for name in ("auto_reply.eml", "out_of_office.eml", "outlook_reply.eml", "newsletter_reply.eml", "garbage.eml"):
        assert parse(name).bounce is None, name
    # A person forwarding a bounce to us: the bounce is inside an attached message, this mail is no bounce.
    forward = EmailMessage()
    forward["From"] = "Jan <jan@example.nl>"
    forward["Subject"] = "Fwd: Undelivered Mail Returned to Sender"
    forward.set_content("Deze kreeg ik terug, klopt mijn adres wel?")
    forward.add_attachment(message(raw("dsn_bounce.eml")))
    assert parse_bounce(forward) is None
    parsed = parse_mail(forward.as_bytes())
    assert parsed.bounce is None and FORWARD_HEADER in parsed.text


# --- Malformed input -----------------------------------------------------------------------------------------------

def test_garbage_mail_gives_what_could_be_read():
    parsed = parse("garbage.eml")
    assert parsed.subject == "gek melding met NUL"
    assert parsed.message_id == "garbage-1@example.nl"
    assert parsed.references == ("a@b", "c@d")
    assert parsed.date is None
    assert parsed.to == ("info@gemeente-voorbeeld.nl",)
    assert parsed.text == "De lamp bij de brûg is kapot  en het hék ook."
    [photo] = parsed.attachments
    assert (photo.filename, photo.content_type) == ("foto.jpg", "image/jpeg")


def test_truncated_and_boundary_less_mail_does_not_raise():
    data = raw("outlook_reply.eml")
    for cut in range(0, len(data), 211):
        assert parse_mail(data[:cut]).size == cut
    # Cut inside the HTML alternative: the text part before it is whole.
    assert parse_mail(data[: data.index(b"Content-Type: text/html") + 200]).text.startswith("Goedemiddag,")
    # The boundary parameter lost: the whole MIME body arrives as text rather than nothing.
    no_boundary = parse_mail(data.replace(b"boundary=", b"boundery="))
    assert "Goedemiddag," in no_boundary.text and no_boundary.attachments == ()


def test_binary_garbage_does_not_raise():
    rnd = random.Random(7)
    for size in (0, 1, 17, 500, 5000):
        blob = bytes(rnd.getrandbits(8) for _ in range(size))
        parsed = parse_mail(blob)
        assert parsed.size == size and parsed.bounce is None and "\x00" not in parsed.text
