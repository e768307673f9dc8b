//! Fault injection at the storage trait: a store that fails the Nth
//! operation of a call. For every facade method that writes, and every N
//! until the call no longer reaches the fault, the method must answer
//! `Error::Storage` and leave the database exactly as it was (every row of
//! every table, compared through SQLite itself).

mod cases;
#[path = "../common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use aai_accounts::store::{
    ChallengeRow, DeviceTokenRow, InvitationRow, OneTimeTokenRow, OrganizationTx, RecoveryCodeRow,
    RefreshTokenRow, SecondFactorTx, SqliteStore, Store, TotpRow, Tx, UserRow,
};
use aai_accounts::{
    ActiveFilter, Contact, ContactId, ContactKind, ContactPatch, Credentials, Error, EventQuery,
    ImportUser, Job, JobId, JobPatch, Location, LocationId, LocationPatch, LocationQuery,
    ManualClock, NewContact, NewJob, NewLocation, NewProfile, NewUser, OneTimeToken, PageRequest,
    Principal, Profile, ProfileDetails, ProfileId, ProfilePatch, ProfileQuery, RecoveryCodes,
    Result, SecondFactorChallenge, SecurityEvent, Session, SessionId, SigningKey, StorageError,
    TokenPurpose, User, UserId, UserPatch, UserQuery,
};
use aai_accounts::{
    Invitation, InvitationId, InvitationToken, Member, Membership, NewOrganization, Organization,
    OrganizationId, OrganizationPatch, OrganizationQuery, OrganizationRole,
};
use chrono::{DateTime, Duration, Utc};
use common::{Harness, TestUser, PASSWORD};

const INJECTED: &str = "injected fault";

/// A store whose transactions fail at their `fail_at`-th operation
/// (counted across the transactions of one facade call; 0 = never).
#[derive(Debug)]
struct FailingStore {
    inner: Arc<dyn Store>,
    fail_at: AtomicUsize,
    count: AtomicUsize,
    fired: AtomicBool,
}

impl FailingStore {
    fn arm(&self, n: usize) {
        self.count.store(0, Ordering::SeqCst);
        self.fired.store(false, Ordering::SeqCst);
        self.fail_at.store(n, Ordering::SeqCst);
    }

    fn disarm(&self) -> bool {
        self.fail_at.store(0, Ordering::SeqCst);
        self.fired.load(Ordering::SeqCst)
    }
}

impl Store for FailingStore {
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.inner.read(&mut |tx| {
            f(&mut FailingTx {
                inner: tx,
                store: self,
            })
        })
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.inner.write(&mut |tx| {
            f(&mut FailingTx {
                inner: tx,
                store: self,
            })
        })
    }

    fn schema_version(&self) -> Result<u32> {
        self.inner.schema_version()
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
}

struct FailingTx<'a> {
    inner: &'a mut dyn Tx,
    store: &'a FailingStore,
}

impl FailingTx<'_> {
    fn tick(&self) -> Result<()> {
        let n = self.store.count.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.store.fail_at.load(Ordering::SeqCst) {
            self.store.fired.store(true, Ordering::SeqCst);
            return Err(Error::Storage(StorageError::msg(INJECTED)));
        }
        Ok(())
    }
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(fn $name(&mut self, $($arg: $ty),*) -> Result<$out> {
            self.tick()?;
            self.inner.$name($($arg),*)
        })*
    };
}

impl Tx for FailingTx<'_> {
    delegate! {
        insert_user(row: &UserRow) -> ();
        get_user(id: UserId) -> Option<UserRow>;
        get_user_by_username(username: &str) -> Option<UserRow>;
        get_user_by_email(email: &str) -> Option<UserRow>;
        update_user(row: &UserRow) -> bool;
        delete_user(id: UserId) -> bool;
        list_users(query: &UserQuery, page: PageRequest) -> (Vec<User>, u64);
        insert_profile(profile: &Profile) -> ();
        get_profile(id: ProfileId) -> Option<Profile>;
        get_profile_by_user(user_id: UserId) -> Option<Profile>;
        get_profile_details(id: ProfileId, children: ActiveFilter) -> Option<ProfileDetails>;
        update_profile(profile: &Profile) -> bool;
        list_profiles(query: &ProfileQuery, visible_to: Option<UserId>, page: PageRequest)
            -> (Vec<Profile>, u64);
        insert_location(location: &Location) -> ();
        get_location(id: LocationId) -> Option<Location>;
        update_location(location: &Location) -> bool;
        list_locations(query: &LocationQuery, page: PageRequest) -> (Vec<Location>, u64);
        insert_contact(contact: &Contact) -> ();
        get_contact(id: ContactId) -> Option<Contact>;
        update_contact(contact: &Contact) -> bool;
        list_contacts(profile_id: ProfileId, active: ActiveFilter) -> Vec<Contact>;
        clear_primary_contact(profile_id: ProfileId, kind: ContactKind, now: DateTime<Utc>) -> u64;
        insert_job(job: &Job) -> ();
        get_job(id: JobId) -> Option<Job>;
        update_job(job: &Job) -> bool;
        list_jobs(profile_id: ProfileId, active: ActiveFilter) -> Vec<Job>;
        insert_session(session: &Session) -> ();
        get_session(id: SessionId) -> Option<Session>;
        get_user_with_session(user_id: UserId, session_id: SessionId) -> Option<(UserRow, Option<Session>)>;
        update_session(session: &Session) -> bool;
        list_sessions(user_id: UserId, active_at: Option<DateTime<Utc>>, page: PageRequest) -> (Vec<Session>, u64);
        delete_expired_sessions(now: DateTime<Utc>) -> u64;
        revoke_sessions(user_id: UserId, now: DateTime<Utc>, keep: Option<SessionId>) -> u64;
        insert_refresh_token(token: &RefreshTokenRow) -> ();
        get_refresh_token(hash: &[u8; 32]) -> Option<RefreshTokenRow>;
        mark_refresh_token_used(hash: &[u8; 32], now: DateTime<Utc>) -> bool;
        delete_expired_refresh_tokens(now: DateTime<Utc>) -> u64;
        insert_device_token(row: &DeviceTokenRow) -> ();
        get_device_token(hash: &[u8; 32]) -> Option<DeviceTokenRow>;
        update_device_token(row: &DeviceTokenRow) -> bool;
        delete_device_tokens(user_id: UserId) -> u64;
        unlock_device_tokens(user_id: UserId) -> u64;
        delete_expired_device_tokens(now: DateTime<Utc>) -> u64;
        insert_one_time_token(row: &OneTimeTokenRow) -> ();
        get_one_time_token(hash: &[u8; 32]) -> Option<OneTimeTokenRow>;
        mark_one_time_token_used(hash: &[u8; 32], now: DateTime<Utc>) -> bool;
        revoke_one_time_tokens(user_id: UserId, purpose: Option<TokenPurpose>, now: DateTime<Utc>) -> u64;
        count_one_time_tokens_since(user_id: UserId, purpose: TokenPurpose, since: DateTime<Utc>) -> u64;
        delete_one_time_tokens_expired_before(before: DateTime<Utc>) -> u64;
        list_user_profiles(user_id: UserId) -> Vec<Profile>;
        anonymize_events(user_id: UserId, tombstone: UserId) -> u64;
        delete_events_before(before: DateTime<Utc>) -> u64;
        insert_event(event: &SecurityEvent) -> ();
        list_events(query: &EventQuery, page: PageRequest) -> (Vec<SecurityEvent>, u64);
        get_setting(key: &str) -> Option<Vec<u8>>;
        insert_setting_if_absent(key: &str, value: &[u8]) -> ();
    }
}

impl SecondFactorTx for FailingTx<'_> {
    delegate! {
        get_totp(user_id: UserId) -> Option<TotpRow>;
        put_totp(row: &TotpRow) -> ();
        update_totp(row: &TotpRow) -> bool;
        delete_totp(user_id: UserId) -> bool;
        insert_recovery_code(row: &RecoveryCodeRow) -> ();
        use_recovery_code(user_id: UserId, hash: &[u8; 32], now: DateTime<Utc>) -> bool;
        delete_recovery_codes(user_id: UserId) -> u64;
        insert_challenge(row: &ChallengeRow) -> ();
        get_challenge(hash: &[u8; 32]) -> Option<ChallengeRow>;
        update_challenge(row: &ChallengeRow) -> bool;
        delete_challenges(user_id: UserId) -> u64;
        delete_challenges_expired_before(before: DateTime<Utc>) -> u64;
    }
}

impl OrganizationTx for FailingTx<'_> {
    delegate! {
        insert_organization(organization: &Organization) -> ();
        get_organization(id: OrganizationId) -> Option<Organization>;
        get_organization_by_slug(slug: &str) -> Option<Organization>;
        update_organization(organization: &Organization) -> bool;
        lock_organization(id: OrganizationId) -> bool;
        list_organizations(query: &OrganizationQuery, member: Option<UserId>, page: PageRequest)
            -> (Vec<Organization>, u64);
        insert_membership(membership: &Membership) -> ();
        get_membership(organization_id: OrganizationId, user_id: UserId) -> Option<Membership>;
        get_active_membership(organization_id: OrganizationId, user_id: UserId) -> Option<Membership>;
        update_membership(membership: &Membership) -> bool;
        delete_membership(organization_id: OrganizationId, user_id: UserId) -> bool;
        count_active_owners(organization_id: OrganizationId) -> u64;
        list_members(organization_id: OrganizationId, page: PageRequest) -> (Vec<Member>, u64);
        list_user_memberships(user_id: UserId) -> Vec<Membership>;
        insert_invitation(row: &InvitationRow) -> ();
        get_invitation(id: InvitationId) -> Option<InvitationRow>;
        get_invitation_by_token(hash: &[u8; 32]) -> Option<InvitationRow>;
        update_invitation(invitation: &Invitation) -> bool;
        revoke_invitations_to(organization_id: OrganizationId, email: &str, now: DateTime<Utc>) -> u64;
        delete_invitations_expired_before(before: DateTime<Utc>) -> u64;
        list_invitations(organization_id: OrganizationId, page: PageRequest) -> (Vec<Invitation>, u64);
    }
}

/// A file database behind a failing store, with a world in it: ada with a
/// full profile, bob, an admin, a deactivated user and her profile.
struct World {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Arc<FailingStore>,
    h: Harness,
    ada: TestUser,
    bob: TestUser,
    admin: TestUser,
    gone: TestUser,
    profile: ProfileDetails,
    gone_profile: ProfileId,
    bob_profile: ProfileId,
    extra_location: LocationId,
    inactive_contact: ContactId,
    inactive_job: JobId,
    /// Ada's outstanding one-time tokens, one of each purpose.
    verification: OneTimeToken,
    reset: OneTimeToken,
    email_change: OneTimeToken,
    /// Ada's organization: bob is a second owner, legacy a member, and
    /// admin@example.com has a pending invitation.
    org: OrganizationId,
    legacy: UserId,
    invitation: InvitationToken,
    /// Bob's organization, with bob its only owner.
    solo: OrganizationId,
    /// Ada's deactivated organization.
    past: OrganizationId,
    /// Tess has a confirmed TOTP (`tess_secret`), recovery codes and an
    /// outstanding login challenge; pat a pending TOTP (`pat_secret`).
    tess: TestUser,
    tess_secret: Vec<u8>,
    tess_recovery: RecoveryCodes,
    tess_challenge: SecondFactorChallenge,
    pat: TestUser,
    pat_secret: Vec<u8>,
}

/// The code an authenticator app shows for `secret`, `steps` time steps
/// from the world's now (one ahead is within the skew and always after
/// the step the world's setup spent).
fn totp_code(w: &World, secret: &[u8], steps: i64) -> String {
    let at = w.h.clock_now() + Duration::seconds(30 * steps);
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, secret.to_vec())
        .generate(u64::try_from(at.timestamp()).unwrap())
}

fn secret_bytes(enrolment: &aai_accounts::TotpEnrolment) -> Vec<u8> {
    totp_rs::Secret::Encoded(enrolment.secret().to_owned())
        .to_bytes()
        .unwrap()
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    let inner: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&format!("sqlite://{}", path.display())).unwrap());
    let store = Arc::new(FailingStore {
        inner,
        fail_at: AtomicUsize::new(0),
        count: AtomicUsize::new(0),
        fired: AtomicBool::new(false),
    });
    let clock = Arc::new(ManualClock::new(common::start_time()));
    let accounts = aai_accounts::Accounts::builder()
        .shared_store(store.clone())
        .signing_key(SigningKey::hs256([42u8; 32]).with_kid("test"))
        .password_params(common::FAST_PASSWORDS)
        .clock(clock.clone())
        .build()
        .unwrap();
    let h = Harness::new("sqlite file behind a failing store", accounts, clock);
    let system = Principal::system();
    let ada = h.register("ada");
    let bob = h.register("bob");
    let admin = h.admin("admin");
    let gone = h.register("gone");
    let profile = h
        .accounts
        .profiles()
        .create(&ada.principal, full_profile())
        .unwrap();
    let gone_profile = h
        .accounts
        .profiles()
        .create(&gone.principal, full_profile())
        .unwrap()
        .profile
        .id;
    h.accounts
        .users()
        .deactivate(&system, gone.user.id)
        .unwrap();
    let bob_profile = h
        .accounts
        .profiles()
        .create(&bob.principal, full_profile())
        .unwrap()
        .profile
        .id;
    h.accounts
        .profiles()
        .deactivate(&bob.principal, bob_profile)
        .unwrap();
    let extra_location = h
        .accounts
        .locations()
        .create(&ada.principal, ada.user.id, location("DE"))
        .unwrap()
        .id;
    let inactive_contact = h
        .accounts
        .contacts()
        .add(
            &ada.principal,
            profile.profile.id,
            NewContact::new(ContactKind::Other, "x"),
        )
        .unwrap()
        .id;
    h.accounts
        .contacts()
        .deactivate(&ada.principal, inactive_contact)
        .unwrap();
    let inactive_job = h
        .accounts
        .jobs()
        .add(&ada.principal, profile.profile.id, job("Old"))
        .unwrap()
        .id;
    h.accounts
        .jobs()
        .deactivate(&ada.principal, inactive_job)
        .unwrap();
    let bob_device = bob.registration.tokens.device_token.clone();
    for _ in 0..4 {
        let _ = h.accounts.login(Credentials::new("bob", "wrong password"));
        let _ = h
            .accounts
            .login(Credentials::new("bob", "wrong password").with_device_token(bob_device.clone()));
    }
    let legacy = h
        .accounts
        .users()
        .import(&system, legacy_user("legacy"))
        .unwrap()
        .id;
    let verification = h
        .accounts
        .request_email_verification(&ada.principal)
        .unwrap();
    let reset = h
        .accounts
        .request_password_reset(ada.user.email.as_str())
        .unwrap()
        .unwrap();
    let email_change = h
        .accounts
        .request_email_change(&ada.principal, "ada.new@example.com", PASSWORD)
        .unwrap()
        .token;
    let orgs = h.accounts.organizations();
    let new_org = |name: &str| NewOrganization {
        name: name.into(),
        ..NewOrganization::default()
    };
    let org = orgs.create(&ada.principal, new_org("Engines")).unwrap().id;
    orgs.add_member(&ada.principal, org, bob.user.id, OrganizationRole::Owner)
        .unwrap();
    orgs.add_member(&ada.principal, org, legacy, OrganizationRole::Member)
        .unwrap();
    let invitation = orgs
        .invite(
            &ada.principal,
            org,
            "admin@example.com",
            OrganizationRole::Member,
        )
        .unwrap();
    let solo = orgs.create(&bob.principal, new_org("Looms")).unwrap().id;
    let past = orgs.create(&ada.principal, new_org("Past")).unwrap().id;
    orgs.deactivate(&ada.principal, past).unwrap();
    let tess = h.register("tess");
    let enrolment = h.accounts.users().totp_begin(&tess.principal).unwrap();
    let tess_secret = secret_bytes(&enrolment);
    let now = u64::try_from(h.clock_now().timestamp()).unwrap();
    let code =
        totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, tess_secret.clone())
            .generate(now);
    let tess_recovery = h
        .accounts
        .users()
        .totp_confirm(&tess.principal, &code)
        .unwrap();
    let tess_challenge = match h.accounts.login(Credentials::new("tess", PASSWORD)) {
        Err(Error::SecondFactorRequired { challenge }) => challenge,
        other => panic!("{other:?}"),
    };
    let pat = h.register("pat");
    let pat_secret = secret_bytes(&h.accounts.users().totp_begin(&pat.principal).unwrap());
    World {
        _dir: dir,
        path,
        store,
        h,
        ada,
        bob,
        admin,
        gone,
        profile,
        gone_profile,
        bob_profile,
        extra_location,
        inactive_contact,
        inactive_job,
        verification,
        reset,
        email_change,
        org,
        legacy,
        invitation,
        solo,
        past,
        tess,
        tess_secret,
        tess_recovery,
        tess_challenge,
        pat,
        pat_secret,
    }
}

/// An account with a bcrypt hash, as the original service wrote them.
fn legacy_user(name: &str) -> ImportUser {
    ImportUser {
        id: None,
        username: name.into(),
        email: format!("{name}@example.com"),
        password_hash: bcrypt::hash(PASSWORD, 4).unwrap(),
        is_active: true,
        is_super_admin: false,
        email_verified: false,
        created_at: None,
        updated_at: None,
        profile: None,
    }
}

fn location(country: &str) -> NewLocation {
    NewLocation {
        country: country.into(),
        city: Some("Paris".into()),
        ..NewLocation::default()
    }
}

fn job(title: &str) -> NewJob {
    NewJob {
        title: title.into(),
        company: "Analytical Engines".into(),
        ..NewJob::default()
    }
}

fn full_profile() -> NewProfile {
    NewProfile {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        location: Some(location("FR")),
        contacts: vec![
            NewContact::new(ContactKind::Email, "ada@example.com").primary(),
            NewContact::new(ContactKind::Email, "ada@work.example.com"),
            NewContact::new(ContactKind::Phone, "+33 1 23 45 67 89").primary(),
        ],
        jobs: vec![job("Engineer"), job("Analyst")],
        is_public: true,
        ..NewProfile::default()
    }
}

/// Every row of every table, as text.
fn dump(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    tables.retain(|name| !name.starts_with("sqlite_"));
    let mut rows = Vec::new();
    for table in tables {
        let mut statement = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1"))
            .unwrap();
        let columns = statement.column_count();
        let mut query = statement.query([]).unwrap();
        while let Some(row) = query.next().unwrap() {
            let values: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            rows.push(format!("{table}: {}", values.join(", ")));
        }
    }
    rows
}

type Call = fn(&World) -> Result<()>;

/// Fails each operation of `call` in turn, checking that every failure is
/// reported and changes nothing, until the call runs without reaching the
/// fault; returns that last outcome.
fn fail_each_operation(name: &str, call: Call) -> Result<()> {
    let world = world();
    for n in 1.. {
        world.h.clock.advance(Duration::seconds(1));
        let before = dump(&world.path);
        world.store.arm(n);
        let result = call(&world);
        let fired = world.store.disarm();
        if !fired {
            assert!(n > 1, "{name}: touched no storage");
            eprintln!("{name}: failed each of {} operations", n - 1);
            return result;
        }
        match &result {
            Err(Error::Storage(error)) if error.to_string() == INJECTED => {}
            other => panic!("{name}: operation {n} failed but the call answered {other:?}"),
        }
        assert_eq!(
            dump(&world.path),
            before,
            "{name}: failing operation {n} left a change behind"
        );
    }
    unreachable!()
}

fn ok<T>(result: Result<T>) -> Result<()> {
    result.map(drop)
}

#[test]
fn every_write_that_fails_in_storage_changes_nothing() {
    for (name, call, expected) in cases::cases() {
        let outcome = fail_each_operation(name, call);
        let code = outcome.as_ref().map_or_else(Error::code, |()| "ok");
        assert_eq!(code, expected, "{name}: {outcome:?}");
    }
}
