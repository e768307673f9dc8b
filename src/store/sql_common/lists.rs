//! The list queries: which conditions a query's filters add, which values
//! they bind, and the SQL text of a list's count and page. A backend gives
//! the condition fragments in its own SQL (constants with `?`
//! placeholders) and binds the values its driver's way.

use crate::model::{
    ActiveFilter, EventQuery, LocationQuery, PageRequest, ProfileQuery, UserId, UserQuery,
};
use crate::store::like_substring;

/// The condition for `filter`, from the fragments `[active, inactive]`;
/// nothing for [`ActiveFilter::All`]. Constants rather than a bound value
/// let the planner use the indexes that lead with `is_active`.
pub(in crate::store) fn active_clause(
    filter: ActiveFilter,
    [active, inactive]: [&'static str; 2],
) -> Option<&'static str> {
    match filter {
        ActiveFilter::Active => Some(active),
        ActiveFilter::Inactive => Some(inactive),
        ActiveFilter::All => None,
    }
}

/// `Some(true)`/`Some(false)` for an `is_active = ?` parameter that may be
/// NULL, `None` for all.
#[cfg(feature = "sqlite")]
pub(in crate::store) fn active_param(filter: ActiveFilter) -> Option<bool> {
    match filter {
        ActiveFilter::Active => Some(true),
        ActiveFilter::Inactive => Some(false),
        ActiveFilter::All => None,
    }
}

/// A value a list condition binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store) enum Param {
    /// Text.
    Text(String),
    /// An id.
    Id(uuid::Uuid),
    /// An instant.
    Time(chrono::DateTime<chrono::Utc>),
}

/// The conditions of a list query (fixed fragments with `?` placeholders)
/// and the values they bind, in order.
#[derive(Debug, Default)]
pub(in crate::store) struct Filter {
    /// The fragments, joined with `AND`.
    pub conditions: Vec<&'static str>,
    /// The values of their placeholders.
    pub params: Vec<Param>,
}

impl Filter {
    /// Adds a condition without placeholders, if any.
    pub(in crate::store) fn fixed(&mut self, condition: Option<&'static str>) {
        self.conditions.extend(condition);
    }

    /// Adds a condition and the values of its placeholders.
    pub(in crate::store) fn bind(
        &mut self,
        condition: &'static str,
        params: impl IntoIterator<Item = Param>,
    ) {
        self.conditions.push(condition);
        self.params.extend(params);
    }

    /// Adds a substring search whose fragment has two placeholders.
    pub(in crate::store) fn search(&mut self, condition: &'static str, value: &str) {
        let pattern = like_substring(value);
        self.bind(
            condition,
            [Param::Text(pattern.clone()), Param::Text(pattern)],
        );
    }
}

/// How a backend writes placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) enum Placeholders {
    /// `?`, bound in order (SQLite).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Anonymous,
    /// `$1`, `$2`, ... (Postgres).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Numbered,
}

/// Joins condition fragments into a `WHERE` clause (nothing when there are
/// none), numbering their placeholders from `$1` when asked; returns it and
/// the next free number.
pub(in crate::store) fn where_clause(
    conditions: &[&'static str],
    placeholders: Placeholders,
) -> (String, usize) {
    let mut sql = String::new();
    let mut next = 1;
    for (index, condition) in conditions.iter().enumerate() {
        sql.push_str(if index == 0 { " WHERE " } else { " AND " });
        for (position, part) in condition.split('?').enumerate() {
            if position > 0 {
                match placeholders {
                    Placeholders::Anonymous => sql.push('?'),
                    Placeholders::Numbered => {
                        sql.push('$');
                        sql.push_str(&next.to_string());
                    }
                }
                next += 1;
            }
            sql.push_str(part);
        }
    }
    (sql, next)
}

/// A list query: `SELECT {columns} FROM {from} WHERE {conditions} ORDER BY
/// {order}`, counted with `SELECT COUNT(*) FROM {from} WHERE
/// {conditions}`. Every piece is a fixed fragment.
#[derive(Debug)]
pub(in crate::store) struct List {
    /// The selected columns.
    pub columns: &'static str,
    /// The table, or the join.
    pub from: &'static str,
    /// The conditions and their values.
    pub filter: Filter,
    /// The list order.
    pub order: &'static str,
}

impl List {
    /// The statement counting every match.
    pub fn count_sql(&self, placeholders: Placeholders) -> String {
        let (where_sql, _) = where_clause(&self.filter.conditions, placeholders);
        format!("SELECT COUNT(*) FROM {}{where_sql}", self.from)
    }

    /// The statement of one page, in list order. Anonymous placeholders
    /// bind the offset after the conditions' values; numbered ones the
    /// limit, then the offset. (Postgres reads a page with its total,
    /// [`List::page_with_total_sql`].)
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub fn page_sql(&self, placeholders: Placeholders, page: PageRequest) -> String {
        let (where_sql, next) = where_clause(&self.filter.conditions, placeholders);
        let limit_offset = match placeholders {
            // The limit is written into the SQL (an integer of at most 100,
            // so few distinct statements): SQLite re-prepares a statement on
            // every run when its LIMIT is a bound parameter.
            Placeholders::Anonymous => format!("LIMIT {} OFFSET ?", page.limit()),
            Placeholders::Numbered => format!("LIMIT ${next} OFFSET ${}", next + 1),
        };
        format!(
            "SELECT {} FROM {}{where_sql} ORDER BY {} {limit_offset}",
            self.columns, self.from, self.order
        )
    }

    /// The statement of one page, in list order, with the number of every
    /// match in a last column: the page and its total from one statement,
    /// so from one snapshot. The total is the count statement as an
    /// uncorrelated subquery (run once, and only when the page has a row;
    /// it reuses the conditions' placeholders); numbered placeholders bind
    /// the limit, then the offset, after the conditions' values.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub fn page_with_total_sql(&self) -> String {
        let (where_sql, next) = where_clause(&self.filter.conditions, Placeholders::Numbered);
        format!(
            "SELECT {}, ({}) FROM {}{where_sql} ORDER BY {} LIMIT ${next} OFFSET ${}",
            self.columns,
            self.count_sql(Placeholders::Numbered),
            self.from,
            self.order,
            next + 1
        )
    }
}

/// The limit and offset of a page, as bound values.
pub(in crate::store) fn limit_offset(page: PageRequest) -> [i64; 2] {
    [
        i64::try_from(page.limit()).unwrap_or(i64::MAX),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    ]
}

/// A backend's condition fragments for the list of users.
pub(in crate::store) struct UserConditions {
    /// `[active, inactive]`.
    pub active: [&'static str; 2],
    /// A substring of username or email, two placeholders.
    pub search: &'static str,
}

/// The list of users matching `query`, newest first.
pub(in crate::store) fn users(query: &UserQuery, sql: &UserConditions) -> List {
    let mut filter = Filter::default();
    filter.fixed(active_clause(query.active, sql.active));
    if let Some(search) = &query.search {
        filter.search(sql.search, search);
    }
    List {
        columns: user_columns!(),
        from: "users",
        filter,
        order: "created_at DESC, id DESC",
    }
}

/// A backend's fragments for the flags and country of a profile search,
/// those a profile count can also be read from.
pub(in crate::store) struct FlagConditions {
    /// `[active, inactive]`.
    pub active: [&'static str; 2],
    /// `[public, private]`.
    pub public: [&'static str; 2],
    /// The (upper-case) country, one placeholder.
    pub country: &'static str,
}

/// A backend's fragments for the list of profiles.
pub(in crate::store) struct ProfileConditions {
    /// The flags and the country.
    pub flags: FlagConditions,
    /// Public or the given user's own, one placeholder.
    pub visible_to: &'static str,
    /// A substring of the first or last name, two placeholders.
    pub name: &'static str,
    /// The city ignoring case, one placeholder.
    pub city: &'static str,
    /// An active job's company ignoring case, one placeholder.
    pub company: &'static str,
    /// An active job's industry ignoring case, one placeholder.
    pub industry: &'static str,
}

/// The conditions on the flags and the country of a profile search.
pub(in crate::store) fn profile_flags(query: &ProfileQuery, sql: &FlagConditions) -> Filter {
    let mut filter = Filter::default();
    filter.fixed(active_clause(query.active, sql.active));
    filter.fixed(
        query
            .is_public
            .map(|public| sql.public[usize::from(!public)]),
    );
    if let Some(country) = &query.country {
        filter.bind(sql.country, [Param::Text(country.to_ascii_uppercase())]);
    }
    filter
}

/// The list of profiles matching `query`, newest first; when `visible_to`
/// is set, only public profiles and that user's own.
pub(in crate::store) fn profiles(
    query: &ProfileQuery,
    visible_to: Option<UserId>,
    sql: &ProfileConditions,
) -> List {
    let mut filter = profile_flags(query, &sql.flags);
    if let Some(user_id) = visible_to {
        filter.bind(sql.visible_to, [Param::Id(user_id.into())]);
    }
    if let Some(name) = &query.name {
        filter.search(sql.name, name);
    }
    for (value, condition) in [
        (&query.city, sql.city),
        (&query.company, sql.company),
        (&query.industry, sql.industry),
    ] {
        if let Some(value) = value {
            filter.bind(condition, [Param::Text(value.clone())]);
        }
    }
    List {
        columns: profile_columns!(),
        // The fragments name the table `p`; its rows carry their place
        // (migrations: SQLite's V1, PostgreSQL's V9), so no search joins.
        from: "profiles p",
        filter,
        order: "p.created_at DESC, p.id DESC",
    }
}

/// The list of locations matching `query`, newest first; `active` are the
/// backend's `[active, inactive]` fragments.
pub(in crate::store) fn locations(query: &LocationQuery, active: [&'static str; 2]) -> List {
    let mut filter = Filter::default();
    filter.fixed(active_clause(query.active, active));
    if let Some(user_id) = query.user_id {
        filter.bind("user_id = ?", [Param::Id(user_id.into())]);
    }
    if let Some(country) = &query.country {
        filter.bind("country = ?", [Param::Text(country.to_ascii_uppercase())]);
    }
    List {
        columns: location_columns!(),
        from: "locations",
        filter,
        order: "created_at DESC, id DESC",
    }
}

/// A user's sessions, newest first; with `active_at`, only those neither
/// revoked nor expired then.
pub(in crate::store) fn sessions(
    user_id: crate::model::UserId,
    active_at: Option<chrono::DateTime<chrono::Utc>>,
) -> List {
    let mut filter = Filter::default();
    filter.bind("user_id = ?", [Param::Id(user_id.into())]);
    if let Some(at) = active_at {
        filter.bind("revoked_at IS NULL AND expires_at > ?", [Param::Time(at)]);
    }
    List {
        columns: session_columns!(),
        from: "sessions",
        filter,
        order: "created_at DESC, id DESC",
    }
}

/// The list of security events matching `query`, newest first.
pub(in crate::store) fn events(query: &EventQuery) -> List {
    let mut filter = Filter::default();
    if let Some(user_id) = query.user_id {
        filter.bind("user_id = ?", [Param::Id(user_id.into())]);
    }
    if let Some(kind) = query.kind {
        filter.bind("kind = ?", [Param::Text(kind.as_str().to_owned())]);
    }
    List {
        columns: event_columns!(),
        from: "security_events",
        filter,
        order: "occurred_at DESC, id DESC",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_clauses_number_placeholders_only_when_asked() {
        let conditions = ["a = 1", "(b LIKE ? OR c LIKE ?)", "d = ?"];
        assert_eq!(
            where_clause(&conditions, Placeholders::Anonymous),
            (
                " WHERE a = 1 AND (b LIKE ? OR c LIKE ?) AND d = ?".to_owned(),
                4
            )
        );
        assert_eq!(
            where_clause(&conditions, Placeholders::Numbered),
            (
                " WHERE a = 1 AND (b LIKE $1 OR c LIKE $2) AND d = $3".to_owned(),
                4
            )
        );
        assert_eq!(
            where_clause(&[], Placeholders::Numbered),
            (String::new(), 1)
        );
    }

    #[test]
    fn a_page_with_its_total_counts_in_a_subquery_binding_the_same_values() {
        let list = List {
            columns: "id",
            from: "t",
            filter: Filter {
                conditions: vec!["a = ?", "b LIKE ?"],
                params: vec![Param::Text("x".into()), Param::Text("%y%".into())],
            },
            order: "id DESC",
        };
        assert_eq!(
            list.page_with_total_sql(),
            "SELECT id, (SELECT COUNT(*) FROM t WHERE a = $1 AND b LIKE $2) \
             FROM t WHERE a = $1 AND b LIKE $2 ORDER BY id DESC LIMIT $3 OFFSET $4"
        );
    }
}
