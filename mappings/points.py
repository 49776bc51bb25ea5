"""Kārtība point numbers: ordering, short titles and citations.

Points are strings such as ``"7"``, ``"14.2"`` or ``"30"`` (the document's own numbering)
and sort numerically, level by level: ``"7" < "14.2" < "16" < "30"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final


def point_key(point: str) -> tuple[int, ...]:
    """Numeric sort key of a point number.

    Raises:
        ValueError: ``point`` is not a dotted number such as ``"14.2"``.
    """
    parts = point.strip().split(".")
    if not all(part.isdigit() and part.isascii() for part in parts):
        raise ValueError(f"not a kārtība point number: {point!r}")
    return tuple(int(part) for part in parts)


def sort_points(points: Iterable[str]) -> tuple[str, ...]:
    """Deduplicated points in numeric order.

    Args:
        points: point numbers as strings; surrounding spaces are ignored.

    Returns:
        e.g. ``("7", "14.2", "16", "30")``.

    Raises:
        ValueError: a point is not a dotted number.
    """
    unique = {point.strip() for point in points}
    return tuple(sorted(unique, key=point_key))


#: Short titles per point: (Latvian, English). For explanations and e-mails.
TITLES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "1": ("Kārtības darbības joma", "Scope of the procedure"),
        "2": ("Attālināto mācību jēdziens", "What remote learning is"),
        "3": ("Kārtības mērķis", "Purpose of the procedure"),
        "4": (
            "Kārtība ir saistoša izglītojamajiem, vecākiem, pedagogiem un darbiniekiem",
            "Binding on students, parents, teachers and staff",
        ),
        "5": (
            "Mācību procesu plāno pēc IZM un VISC norādījumiem",
            "Planning follows the guidance of the Ministry and VISC",
        ),
        "6": ("Attālināto mācību norises pārraudzība", "Oversight of remote learning"),
        "7": (
            "Attālinātās mācības līdz 20 % no plānotā mācību stundu skaita",
            "Remote learning at most 20 % of the planned lesson hours",
        ),
        "8": (
            "Kvalifikācijas praksēs attālinātās mācības nav paredzētas",
            "No remote learning in qualification practice",
        ),
        "9": ("Izmantojamās platformas", "Platforms to be used"),
        "10": (
            "Stundu saraksts un konsultāciju grafiki tehnikuma mājaslapā",
            "Timetable and consultation schedules on the school website",
        ),
        "11": (
            "Pārbaudījumi attālināti vai klātienē pēc ārējiem normatīvajiem aktiem",
            "Tests and exams remote or in person per external regulations",
        ),
        "12": ("Pārplānošana ar direktora rīkojumu", "Re-planning by the director's order"),
        "13": ("Audzināšanas stundas notiek tiešsaistē", "Class-teacher hours take place online"),
        "14": ("Pedagogu pienākumi attālinātajās mācībās", "Teachers' duties in remote learning"),
        "14.1": ("Mācības atbilstoši stundu sarakstam", "Lessons follow the timetable"),
        "14.2": (
            "Stundas tēma un uzdotais savlaicīgi jāieraksta e-klasē",
            "Lesson topic and assignment must be entered in e-klase on time",
        ),
        "14.3": (
            "Jāņem vērā izglītojamo IKT prasmes",
            "Students' ICT skills are taken into account",
        ),
        "14.4": ("Konsultācijas izglītojamajiem", "Consultations for students"),
        "14.5": (
            "Darba lapas izglītojamajiem bez interneta vai viedierīcēm",
            "Worksheets for students without internet or devices",
        ),
        "15": (
            "Kopīgas starppriekšmetu attālinātās mācības",
            "Joint cross-subject remote lessons",
        ),
        "16": (
            "Sadaļa „UZDOTS” vismaz vienu darba dienu pirms stundas līdz plkst. 17.00",
            "UZDOTS entry by 17:00 at least one working day before the lesson",
        ),
        "17": ("Izglītojamo atgriezeniskā saite", "Students' feedback"),
        "18": (
            "Izglītojamais plāno darbu pedagoga norādītajā termiņā",
            "Students plan their work to meet the teacher's deadline",
        ),
        "19": (
            "Pedagogs drīkst atslēgt stundu traucējošu izglītojamo",
            "The teacher may remove a disruptive student",
        ),
        "20": (
            "Par nepiedalīšanos audzinātāju informē līdz stundas sākumam",
            "The class teacher is told before the lesson starts",
        ),
        "21": (
            "Audzinātājs informē par nedēļas aktualitātēm",
            "The class teacher shares the week's news",
        ),
        "22": (
            "Audzinātājs saņem ziņas par izglītojamā nepiedalīšanos",
            "The class teacher is told a student does not take part",
        ),
        "23": (
            "Audzinātājs informē par izglītojamajiem bez tehniskā nodrošinājuma",
            "The class teacher reports students without technical means",
        ),
        "24": (
            "Audzinātājs seko līdzi saziņai e-klasē",
            "The class teacher follows e-klase communication",
        ),
        "25": ("Audzinātājs ir kontaktpersona", "The class teacher is the contact point"),
        "26": ("Vecāki atbalsta bērnu attālinātajās mācībās", "Parents support their child"),
        "27": ("Vecāki seko līdzi informācijai e-klasē", "Parents follow e-klase"),
        "28": (
            "Vecāki nekavējoties informē audzinātāju par bērna slimību",
            "Parents report an illness to the class teacher at once",
        ),
        "29": ("Vecāki savlaicīgi informē par problēmām", "Parents raise problems in time"),
        "30": (
            "Sinhronā stunda: nepieslēdzās vai atslēdzās bez iemesla",
            "Synchronous lesson: not connected or left without reason",
        ),
        "31": (
            "Asinhronā stunda: neiesaistījās un nerīkojās pēc pedagoga norādēm",
            "Asynchronous lesson: did not engage or follow the teacher's instructions",
        ),
        "32": (
            "Audzinātājs seko kavējumiem un sazinās ar likumisko pārstāvi",
            "The class teacher follows absences and contacts the legal representative",
        ),
        "33": (
            "Pedagogs atbild par sava priekšmeta attālinātajām mācībām",
            "The subject teacher is responsible for their remote lessons",
        ),
        "34": (
            "Iepriekšējā klātienes stundā izskaidro rezultātus, kritērijus un termiņus",
            "Outcomes, criteria and deadlines explained in the preceding in-person lesson",
        ),
        "35": (
            "Patstāvīgu darbu drīkst veikt citā laikā pedagoga noteiktajā termiņā",
            "Self-paced work may be done later, within the teacher's deadline",
        ),
        "36": (
            "Atgriezeniskā saite un paveiktā pārrunāšana",
            "Feedback and discussion of the work done",
        ),
        "37": ("Godprātīga uzdevumu izpilde", "Honest work"),
        "38": (
            "Attālināti paveiktajam ir tāda pati nozīme kā klātienē",
            "Remote work counts the same as in-person work",
        ),
        "39": (
            "Tehniski traucējumi nav attaisnojošs iemesls",
            "Technical problems are not a valid excuse",
        ),
        "40": ("Pedagogs ir pieejams saziņai", "The teacher is reachable"),
        "41": (
            "Sinhronā stunda: tehnisku problēmu gadījumā nekavējoties sazinās ar pedagogu",
            "Synchronous lesson: with technical trouble contact the teacher at once",
        ),
        "42": (
            "Asinhronā stunda: tehnisku problēmu gadījumā vienojas ar pedagogu, arī par termiņa "
            "pagarinājumu",
            "Asynchronous lesson: with technical trouble agree a solution, e.g. a later deadline",
        ),
        "43": (
            "Tehnisku iemeslu dēļ nepiedalījās un nesazinājās: „n” e-klases žurnālā",
            'Missed for technical reasons without contacting the teacher: "n" in the journal',
        ),
        "44": ("Tehnikuma resursu izmantošana", "Use of the school's resources"),
        "45": ("Bezmaksas bezvadu internets tehnikumā", "Free school Wi-Fi"),
        "46": ("Iekšējās kārtības noteikumi tehnikuma telpās", "House rules on the premises"),
        "47": ("Kārtība stājas spēkā 2023. gada 1. martā", "In force from 1 March 2023"),
    }
)


def title(point: str, lang: str = "lv") -> str:
    """The short title of a point in ``lang`` (``"lv"`` or ``"en"``).

    Raises:
        KeyError: unknown point.
        ValueError: unsupported language.
    """
    lv, en = TITLES[point.strip()]
    if lang == "lv":
        return lv
    if lang == "en":
        return en
    raise ValueError(f"unsupported language: {lang!r}")


def cite(points: Iterable[str], lang: str = "lv") -> str:
    """A citation of several points, e.g. ``"kārtības 20., 30. p."`` / ``"procedure p. 20, 30"``.

    Returns:
        The citation, or ``""`` when ``points`` is empty.
    """
    ordered = sort_points(points)
    if not ordered:
        return ""
    if lang == "lv":
        return "kārtības " + ", ".join(f"{p}." for p in ordered) + " p."
    if lang == "en":
        return "procedure p. " + ", ".join(ordered)
    raise ValueError(f"unsupported language: {lang!r}")
