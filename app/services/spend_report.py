"""Pay-per-use spend grouped for reading: per department, then per host, with totals."""

from app.services import session_costs


def _sort_key(row):
    """Departments by name, people without one last; hosts by name within."""
    return (row["department"] is None, (row["department"] or "").casefold(),
            row["department_id"] or 0, row["host"].casefold(), row["host_id"], row["currency"])


def _totals(rows):
    """One totals row per currency, in currency order."""
    totals = {}
    for row in rows:
        total = totals.setdefault(row["currency"], {"currency": row["currency"], "sessions": 0,
                                                    "paid_minor": 0, "refunded_minor": 0, "net_minor": 0})
        for key in ("sessions", "paid_minor", "refunded_minor", "net_minor"):
            total[key] += row[key]
    return [totals[code] for code in sorted(totals)]


def spend_groups(organization, day_from, day_to):
    """[(department name or None, host rows, totals per currency)] and the overall totals."""
    rows = sorted(session_costs.spend_by_department_and_host(organization, day_from, day_to),
                  key=_sort_key)
    groups = []
    for row in rows:
        if not groups or groups[-1]["department_id"] != row["department_id"]:
            groups.append({"department_id": row["department_id"], "name": row["department"],
                           "rows": []})
        groups[-1]["rows"].append(row)
    for group in groups:
        group["totals"] = _totals(group["rows"])
    return rows, groups, _totals(rows)
