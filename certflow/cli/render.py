"""Terminal views of a score report and of a catalogue (rich tables, text bars)."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from ..catalogue.model import AREA_KIND_LABEL, AppliesTo, AreaKind, Catalogue, Criterion, Threshold, format_logic
from ..catalogue.wording import applies_text, evidence_text, frequency_text
from ..scoring import CriterionResult, Report, Tally
from .console import bar

MARK = {True: "erfüllt", False: "nicht erfüllt"}


def _tally_cells(t: Tally) -> tuple[str, str, str]:
    return (
        f"{t.points}/{t.max_points} (min. {t.min_points})",
        f"{t.basis_met}/{t.basis_total} (min. {t.min_basis})",
        bar(t.points, t.max_points, t.min_points),
    )


def _criteria_table(title: str, results: tuple[CriterionResult, ...]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, expand=False)
    table.add_column("Kriterium", no_wrap=True)
    table.add_column("Stufe")
    table.add_column("Pkt.", justify="right")
    table.add_column("Ergebnis", no_wrap=True)
    table.add_column("Begründung", overflow="fold")
    for res in results:
        table.add_row(res.id, res.level.capitalize(), str(res.points), MARK[res.met], "\n".join(res.reasons))
    return table


def print_report(console: Console, report: Report, name: str = "") -> None:
    head = f"Selbstbewertung {name} – " if name else "Selbstbewertung – "
    console.print(
        f"{head}Katalog {report.catalogue} {report.version}, Verfahren {report.variant}, "
        f"Prüfzeitraum {report.period_start:%d.%m.%Y}–{report.period_end:%d.%m.%Y}",
        soft_wrap=True,
    )
    overview = Table(title="Übersicht: Punkte gegen Schwelle (┃)", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("Bereich", "Titel", "Punkte", "Basis", "Punkte gegen Schwelle", "Ergebnis"):
        overview.add_column(col, no_wrap=col != "Titel")
    for area in report.areas:
        overview.add_row(area.id, area.title, *_tally_cells(area.tally), MARK[area.met])
        for prof in area.profiles:
            if prof.chosen:
                overview.add_row(f"  {prof.id}", f"Profil: {prof.title}", *_tally_cells(prof.tally), MARK[prof.met])
    console.print(overview)
    for area in report.areas:
        if area.criteria:
            console.print(_criteria_table(f"Bereich {area.id} {area.title}", area.criteria))
        for prof in area.profiles:
            if prof.chosen:
                console.print(_criteria_table(f"Profil {prof.id} {prof.title} (gewählt)", prof.criteria))
    for title, deficits in (
        ("Mängel, nach Bereichen", [d for d in report.deficits if d.blocking]),
        ("Nicht erfüllt, doch ohne Folgen für die Schwelle", [d for d in report.deficits if not d.blocking]),
    ):
        if deficits:
            table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
            table.add_column("Bereich", no_wrap=True)
            table.add_column("Betrifft", no_wrap=True)
            table.add_column("Mangel", overflow="fold")
            for d in deficits:
                table.add_row(d.area, d.subject, d.message)
            console.print(table)
    console.print(f"Ergebnis: {report.verdict}")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _threshold(t: Threshold) -> str:
    text = (f"Schwelle: mindestens {_count(t.min_points, 'Punkt', 'Punkte')}, "
            f"{_count(t.min_basis, 'Basiskriterium', 'Basiskriterien')}")
    for o in t.overrides:
        who = applies_text(AppliesTo(procedure=o.procedure, form=o.form))
        parts = [_count(o.min_points, "Punkt", "Punkte") if o.min_points is not None else "",
                 _count(o.min_basis, "Basiskriterium", "Basiskriterien") if o.min_basis is not None else ""]
        text += f"; {who}: " + ", ".join(p for p in parts if p)
    return text + (" (vorläufig)" if t.provisional else "")


def _criterion_label(c: Criterion) -> str:
    flags = [applies_text(c.applies_to)] if applies_text(c.applies_to) else []
    if c.provisional:
        flags.append("vorläufig")
    tail = f" [{', '.join(flags)}]" if flags else ""
    logic = f" – {format_logic(c.effective_logic())}" if c.items else ""
    return f"{c.id} {c.title} ({c.level.value.capitalize()}, {c.points} Pkt.){logic}{tail}"


def _add_criterion(parent: Tree, cat: Catalogue, crit: Criterion) -> None:
    node = parent.add(_criterion_label(crit))
    for item in crit.all_items():
        scope = applies_text(item.applies_to)
        target = node if item.id == crit.id else node.add(f"{item.id} {item.title}" + (f" [{scope}]" if scope else ""))
        for rule in item.frequency:
            label = cat.activity_kinds.get(rule.activity) if rule.activity else None
            target.add(f"Häufigkeit: {frequency_text(rule, label)}")
        for rule in item.evidence:
            target.add(f"{evidence_text(rule, cat.evidence_kinds[rule.kind])}")


def print_catalogue(console: Console, cat: Catalogue) -> None:
    root = Tree(f"{cat.title} – Version {cat.version}, gültig ab {cat.valid_from:%d.%m.%Y}"
                + (f" bis {cat.valid_until:%d.%m.%Y}" if cat.valid_until else ""))
    for area in cat.areas:
        node = root.add(f"{AREA_KIND_LABEL[area.kind]} {area.id} {area.title} – {_threshold(area.threshold)}")
        for crit in area.criteria:
            _add_criterion(node, cat, crit)
        if area.kind is AreaKind.PROFIL and area.profile_rule is not None:
            rule = area.profile_rule
            most = f", höchstens {rule.max_chosen}" if rule.max_chosen else ""
            node.add(f"Profilwahl: mindestens {rule.min_chosen}{most} wählen, {rule.required_met} erfüllen"
                     + (" (vorläufig)" if rule.provisional else ""))
        for prof in area.profiles:
            pnode = node.add(f"Profil {prof.id} {prof.title} – {_threshold(prof.threshold)}"
                             + (" [vorläufig]" if prof.provisional else ""))
            for crit in prof.criteria:
                _add_criterion(pnode, cat, crit)
    console.print(root)
    count = len(cat.all_criteria())
    console.print(f"{count} Kriterien in {len(cat.areas)} Bereichen")
