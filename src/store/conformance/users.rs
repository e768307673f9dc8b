//! Users: round trips, conflicts, updates, deletes and lists.

use chrono::{Duration, SubsecRound};

use super::fixtures::*;
use crate::model::{
    ActiveFilter, ContactKind, EventKind, EventQuery, PageRequest, Profile, ProfileId,
    ProfileQuery, UserQuery, Username,
};
use crate::store::{PasswordHash, Store};

/// Every column of a user survives a round trip, `None`s included, and the
/// alternate keys find it.
pub fn user_round_trip(store: &dyn Store) {
    let mut full = user("Full");
    full.user.is_active = false;
    full.user.is_super_admin = true;
    full.user.created_at = at(1);
    full.user.updated_at = at(2) + Duration::microseconds(1);
    full.user.last_login_at = Some(at(3));
    full.user.deactivated_at = Some(at(4));
    full.failed_logins = 4;
    full.locked_until = Some(at(5));
    full.tokens_valid_after = at(6).trunc_subsecs(0);
    let minimal = user("minimal");
    write_ok(store, |tx| {
        tx.insert_user(&full)?;
        tx.insert_user(&minimal)
    });
    read_ok(store, |tx| {
        for row in [&full, &minimal] {
            assert_eq!(tx.get_user(row.user.id)?.as_ref(), Some(row));
            let upper = row.user.username.to_uppercase();
            let lower = row.user.username.to_lowercase();
            assert_eq!(tx.get_user_by_username(&upper)?.as_ref(), Some(row));
            assert_eq!(tx.get_user_by_username(&lower)?.as_ref(), Some(row));
            assert_eq!(tx.get_user_by_email(&row.user.email)?.as_ref(), Some(row));
        }
        Ok(())
    });
}

/// Getters of missing rows answer `None`, updates and deletes `false`.
pub fn missing_rows_are_none_or_false(store: &dyn Store) {
    let ghost = user("ghost");
    let profile = profile(ghost.user.id, "No", "One");
    let location = location(ghost.user.id, "DE", None);
    let contact = contact(profile.id, ContactKind::Other, "x", false);
    let job = job(profile.id, "None", "Nowhere");
    let session = session(ghost.user.id, at(0), at(1));
    let refresh = refresh_token(&session);
    let setting = format!("missing.{}", token());
    write_ok(store, |tx| {
        assert_eq!(tx.get_user(ghost.user.id)?, None);
        assert_eq!(tx.get_user_by_username(&ghost.user.username)?, None);
        assert_eq!(tx.get_user_by_email(&ghost.user.email)?, None);
        assert!(!tx.update_user(&ghost)?);
        assert!(!tx.delete_user(ghost.user.id)?);
        assert_eq!(tx.get_profile(profile.id)?, None);
        assert_eq!(tx.get_profile_by_user(ghost.user.id)?, None);
        assert_eq!(tx.get_profile_details(profile.id, ActiveFilter::All)?, None);
        assert!(!tx.update_profile(&profile)?);
        assert_eq!(tx.get_location(location.id)?, None);
        assert!(!tx.update_location(&location)?);
        assert_eq!(tx.get_contact(contact.id)?, None);
        assert!(!tx.update_contact(&contact)?);
        assert_eq!(tx.list_contacts(profile.id, ActiveFilter::All)?, vec![]);
        assert_eq!(
            tx.clear_primary_contact(profile.id, ContactKind::Email, at(1))?,
            0
        );
        assert_eq!(tx.get_job(job.id)?, None);
        assert!(!tx.update_job(&job)?);
        assert_eq!(tx.list_jobs(profile.id, ActiveFilter::All)?, vec![]);
        assert_eq!(tx.get_session(session.id)?, None);
        assert!(!tx.update_session(&session)?);
        assert_eq!(
            tx.list_sessions(ghost.user.id, None, PageRequest::default())?,
            (vec![], 0)
        );
        assert_eq!(tx.revoke_sessions(ghost.user.id, at(1), None)?, 0);
        assert_eq!(tx.get_refresh_token(&refresh.hash)?, None);
        assert!(!tx.mark_refresh_token_used(&refresh.hash, at(1))?);
        assert_eq!(tx.get_setting(&setting)?, None);
        Ok(())
    });
}

/// A username taken in another case conflicts, on insert and on update.
pub fn username_conflict_ignores_case(store: &dyn Store) {
    let first = insert_user(store, "case");
    let mut second = user("second");
    second.user.username = Username::parse(first.user.username.to_uppercase()).unwrap();
    let error = write_err(store, |tx| tx.insert_user(&second));
    assert_conflict(&error, "username");

    let mut third = insert_user(store, "third");
    third.user.username = second.user.username.clone();
    let error = write_err(store, |tx| tx.update_user(&third));
    assert_conflict(&error, "username");
}

/// A taken email conflicts, on insert and on update.
pub fn email_conflict(store: &dyn Store) {
    let first = insert_user(store, "mail");
    let mut second = user("mail2");
    second.user.email = first.user.email.clone();
    let error = write_err(store, |tx| tx.insert_user(&second));
    assert_conflict(&error, "email");

    let mut third = insert_user(store, "mail3");
    third.user.email = first.user.email.clone();
    let error = write_err(store, |tx| tx.update_user(&third));
    assert_conflict(&error, "email");
}

/// `update_user` writes every column but the id and `created_at`, and can
/// clear optional ones.
pub fn update_user_writes_every_column(store: &dyn Store) {
    let original = insert_user(store, "update");
    let mut changed = user("updated");
    changed.user.id = original.user.id;
    changed.user.created_at = original.user.created_at;
    changed.user.is_active = false;
    changed.user.is_super_admin = true;
    changed.user.updated_at = at(10);
    changed.user.last_login_at = Some(at(11));
    changed.user.deactivated_at = Some(at(12));
    changed.user.email_verified_at = Some(at(15));
    changed.password_hash =
        PasswordHash::new("$2b$12$anotherhashanotherhashanotherhashanotherhashano");
    changed.failed_logins = 7;
    changed.locked_until = Some(at(13));
    changed.tokens_valid_after = at(14).trunc_subsecs(0);
    assert!(write_ok(store, |tx| tx.update_user(&changed)));
    let read_back = read_ok(store, |tx| tx.get_user(original.user.id));
    assert_eq!(read_back, Some(changed.clone()));

    let mut cleared = changed.clone();
    cleared.user.last_login_at = None;
    cleared.user.deactivated_at = None;
    cleared.user.email_verified_at = None;
    cleared.locked_until = None;
    assert!(write_ok(store, |tx| tx.update_user(&cleared)));
    assert_eq!(
        read_ok(store, |tx| tx.get_user(original.user.id)),
        Some(cleared.clone())
    );
    // The old username and email are free again.
    assert_eq!(
        read_ok(store, |tx| tx.get_user_by_username(&original.user.username)),
        None
    );
}

/// Deleting a user deletes their profile, locations, contacts, jobs,
/// sessions and refresh tokens, and keeps their security events.
pub fn delete_user_cascades_but_keeps_events(store: &dyn Store) {
    let user = insert_user(store, "purge");
    let other = insert_user(store, "bystander");
    let location = location(user.user.id, "NL", Some("Utrecht"));
    let mut profile = profile(user.user.id, "Purged", "User");
    profile.location_id = Some(location.id);
    let old_profile = Profile {
        id: ProfileId::new(),
        is_active: false,
        ..profile.clone()
    };
    let contact = contact(profile.id, ContactKind::Phone, "+4930123456", true);
    let job = job(profile.id, "Analyst", "Purge BV");
    let session = session(user.user.id, at(0), at(100));
    let token = refresh_token(&session);
    let own_event = event(EventKind::UserPurged, Some(user.user.id), at(1));
    let other_session = self::session(other.user.id, at(0), at(100));
    write_ok(store, |tx| {
        tx.insert_location(&location)?;
        tx.insert_profile(&profile)?;
        tx.insert_profile(&old_profile)?;
        tx.insert_contact(&contact)?;
        tx.insert_job(&job)?;
        tx.insert_session(&session)?;
        tx.insert_refresh_token(&token)?;
        tx.insert_event(&own_event)?;
        tx.insert_session(&other_session)
    });
    assert!(write_ok(store, |tx| tx.delete_user(user.user.id)));
    read_ok(store, |tx| {
        assert_eq!(tx.get_user(user.user.id)?, None);
        assert_eq!(tx.get_profile(profile.id)?, None);
        assert_eq!(tx.get_profile(old_profile.id)?, None);
        assert_eq!(tx.get_location(location.id)?, None);
        assert_eq!(tx.get_contact(contact.id)?, None);
        assert_eq!(tx.get_job(job.id)?, None);
        assert_eq!(tx.get_session(session.id)?, None);
        assert_eq!(tx.get_refresh_token(&token.hash)?, None);
        let query = EventQuery {
            user_id: Some(user.user.id),
            kind: None,
        };
        assert_eq!(
            tx.list_events(&query, PageRequest::default())?,
            (vec![own_event.clone()], 1)
        );
        assert_eq!(tx.get_user(other.user.id)?.as_ref(), Some(&other));
        assert_eq!(
            tx.get_session(other_session.id)?,
            Some(other_session.clone())
        );
        Ok(())
    });
    assert!(!write_ok(store, |tx| tx.delete_user(user.user.id)));
}

/// Users list newest first, ties broken by the larger id first.
pub fn list_users_newest_first_with_id_tie_break(store: &dyn Store) {
    let t = token();
    let mut rows = Vec::new();
    for (index, seconds) in [10, 20, 20, 5, 20].into_iter().enumerate() {
        let mut row = user_named(
            &format!("order{index}_{t}"),
            &format!("o{index}.{t}@example.com"),
        );
        row.user.created_at = at(seconds);
        row.user.updated_at = at(seconds);
        rows.push(row.user.clone());
        write_ok(store, |tx| tx.insert_user(&row));
    }
    let expected = newest_first(&rows, |user| (user.created_at, user.id));
    let query = UserQuery {
        search: Some(t),
        active: ActiveFilter::Active,
    };
    let listed = read_ok(store, |tx| tx.list_users(&query, PageRequest::default()));
    assert_eq!(listed, (expected, 5));
}

/// Paging through users visits each matching row exactly once, in order.
pub fn list_users_pages_visit_each_row_once(store: &dyn Store) {
    let t = token();
    let mut rows = Vec::new();
    for index in 0..7 {
        let mut row = user_named(
            &format!("page{index}_{t}"),
            &format!("p{index}.{t}@example.com"),
        );
        row.user.created_at = at(index / 2);
        rows.push(row.user.clone());
        write_ok(store, |tx| tx.insert_user(&row));
    }
    let expected = newest_first(&rows, |user| (user.created_at, user.id));
    let query = UserQuery {
        search: Some(t),
        active: ActiveFilter::Active,
    };
    let listed = all_pages(3, |page| read_ok(store, |tx| tx.list_users(&query, page)));
    assert_eq!(listed, expected);
}

/// The user search matches a substring of the username or the email,
/// ignoring case, and the active filter selects by `is_active`.
pub fn list_users_filters(store: &dyn Store) {
    let t = token();
    let mut active = user_named(&format!("ua{t}"), &format!("a.{}@example.com", token()));
    active.user.created_at = at(1);
    let mut inactive = user_named(&format!("ub{t}"), &format!("b.{}@example.com", token()));
    inactive.user.created_at = at(2);
    inactive.user.is_active = false;
    inactive.user.deactivated_at = Some(at(3));
    let mut by_email = user_named(&format!("uc{}", token()), &format!("c@{t}.example.com"));
    by_email.user.created_at = at(3);
    write_ok(store, |tx| {
        tx.insert_user(&active)?;
        tx.insert_user(&inactive)?;
        tx.insert_user(&by_email)
    });
    let list = |search: String, filter: ActiveFilter| {
        let query = UserQuery {
            search: Some(search),
            active: filter,
        };
        let (users, total) = read_ok(store, |tx| tx.list_users(&query, PageRequest::default()));
        assert_eq!(users.len() as u64, total);
        users.into_iter().map(|user| user.id).collect::<Vec<_>>()
    };
    let upper = t.to_uppercase();
    assert_eq!(
        list(upper.clone(), ActiveFilter::Active),
        vec![by_email.user.id, active.user.id]
    );
    assert_eq!(
        list(upper.clone(), ActiveFilter::Inactive),
        vec![inactive.user.id]
    );
    assert_eq!(
        list(upper, ActiveFilter::All),
        vec![by_email.user.id, inactive.user.id, active.user.id]
    );
    assert_eq!(
        list(format!("UA{t}"), ActiveFilter::All),
        vec![active.user.id]
    );
    assert_eq!(
        list(format!("@{t}."), ActiveFilter::All),
        vec![by_email.user.id]
    );
}

/// `%`, `_` and `\` in a search are plain characters, not wildcards.
pub fn search_wildcards_are_literal(store: &dyn Store) {
    let t = token();
    let underscore = user_named(&format!("w{t}a_b"), &format!("w1.{t}@example.com"));
    let letter = user_named(&format!("w{t}axb"), &format!("w2.{t}@example.com"));
    let percent = user_named(&format!("w{t}p1"), &format!("{t}100%@example.com"));
    let digits = user_named(&format!("w{t}p2"), &format!("{t}1000@example.com"));
    let owner = user("wildcard");
    let mut literal = profile(owner.user.id, "Under_score", &format!("{t}50%\\off"));
    literal.is_active = false;
    let plain = profile(owner.user.id, "Underxscore", &format!("{t}50xoff"));
    write_ok(store, |tx| {
        for row in [&underscore, &letter, &percent, &digits, &owner] {
            tx.insert_user(row)?;
        }
        tx.insert_profile(&literal)?;
        tx.insert_profile(&plain)
    });
    let users = |search: String| {
        let query = UserQuery {
            search: Some(search),
            active: ActiveFilter::All,
        };
        let (users, _) = read_ok(store, |tx| tx.list_users(&query, PageRequest::default()));
        users.into_iter().map(|user| user.id).collect::<Vec<_>>()
    };
    assert_eq!(users(format!("{t}a_b")), vec![underscore.user.id]);
    assert_eq!(users(format!("{t}100%")), vec![percent.user.id]);
    assert_eq!(users(format!("{t}_")), vec![]);
    let all = |name: String| ProfileQuery {
        active: ActiveFilter::All,
        ..profile_query(&name)
    };
    assert_eq!(
        list_profile_ids(store, &all(format!("{t}50%\\")), None),
        vec![literal.id]
    );
    assert_eq!(
        list_profile_ids(store, &all(format!("{t}50%")), None),
        vec![literal.id]
    );
    assert_eq!(
        list_profile_ids(store, &all(format!("{t}50_")), None),
        vec![]
    );
}
